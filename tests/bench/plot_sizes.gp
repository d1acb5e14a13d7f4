# plot_sizes.gp: draws sizes.csv (bench_sizes.sh) as bars, Tinyx vs debootstrap minbase + packages.
# Usage: gnuplot -c tests/bench/plot_sizes.gp out/bench/sizes.csv out/bench/sizes.png
# Columns are read by name from the CSV header, so bench_sizes.sh may add columns freely.

if (ARGC < 2) {
    print "usage: gnuplot -c plot_sizes.gp SIZES.CSV OUT.PNG"
    exit status 2
}
csv = ARG1
png = ARG2

# pngcairo draws nicer text; plain png is the fallback on builds without cairo.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1400,620 font "Sans,11" noenhanced
} else {
    set terminal png size 1400,620 noenhanced
}
set output png

set datafile separator ","
set datafile columnheaders
MB = 1e6

# Bars: Tinyx left of the recipe's tick, the peer right of it; both start at the bottom edge of
# the log axis (boxes with a lower y bound need one: the axis floor).
floor = 0.1
set logscale y 10
set yrange [floor:2000]
set ytics ("0.1" 0.1, "1" 1, "10" 10, "100" 100, "1000" 1000)
set ylabel "MB (10^6 bytes), log scale"
set grid ytics lc rgb "#dddddd"
set style fill solid 0.85 border lc rgb "#333333"
set xtics nomirror scale 0
set key top left reverse Left samplen 2
set offsets 0.6, 0.6, 0, 0
set xrange [*:*]
w = 0.36
tinyx_colour = "#2b6cb0"
peer_colour = "#dd8452"

set multiplot layout 1,2 title "Tinyx image vs debootstrap --variant=minbase + the same packages, apt caches removed (one bench run)" font ",13"

set title "uncompressed root filesystem (sum of regular file sizes)"
plot csv using ($0 - w/2):(floor):($0 - w/2 - w/2):($0 - w/2 + w/2):(floor):(column("tinyx_rootfs_bytes")/MB) \
         with boxxyerror lc rgb tinyx_colour title "Tinyx rootfs", \
     csv using ($0 + w/2):(floor):($0 + w/2 - w/2):($0 + w/2 + w/2):(floor):(column("peer_rootfs_bytes")/MB) \
         with boxxyerror lc rgb peer_colour title "minbase + packages", \
     csv using ($0 - w/2):(column("tinyx_rootfs_bytes")/MB*1.15):(sprintf("%.1f", column("tinyx_rootfs_bytes")/MB)) \
         with labels font ",9" notitle, \
     csv using ($0 + w/2):(column("peer_rootfs_bytes")/MB*1.15):(sprintf("%.0f", column("peer_rootfs_bytes")/MB)) \
         with labels font ",9" notitle, \
     csv using ($0):(column("peer_rootfs_bytes")/MB*1.9):(sprintf("%.1fx smaller", column("rootfs_ratio"))):xtic(strcol(1)) \
         with labels font ",11" tc rgb "#000000" notitle

set title "compressed: newc cpio + zstd -19, as Tinyx packs its initrd"
plot csv using ($0 - w/2):(floor):($0 - w/2 - w/2):($0 - w/2 + w/2):(floor):(column("tinyx_initrd_bytes")/MB) \
         with boxxyerror lc rgb tinyx_colour title "Tinyx initrd", \
     csv using ($0 + w/2):(floor):($0 + w/2 - w/2):($0 + w/2 + w/2):(floor):(column("peer_cpio_zst_bytes")/MB) \
         with boxxyerror lc rgb peer_colour title "minbase + packages, cpio.zst", \
     csv using ($0 - w/2):(column("tinyx_initrd_bytes")/MB*1.15):(sprintf("%.2f", column("tinyx_initrd_bytes")/MB)) \
         with labels font ",9" notitle, \
     csv using ($0 + w/2):(column("peer_cpio_zst_bytes")/MB*1.15):(sprintf("%.1f", column("peer_cpio_zst_bytes")/MB)) \
         with labels font ",9" notitle, \
     csv using ($0):(column("peer_cpio_zst_bytes")/MB*1.9):(sprintf("%.1fx smaller", column("compressed_ratio"))):xtic(strcol(1)) \
         with labels font ",11" tc rgb "#000000" notitle

unset multiplot
