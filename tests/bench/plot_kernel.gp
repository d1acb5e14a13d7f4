# plot_kernel.gp: draws kernel.csv (bench_kernel.sh): image size and boot-to-ready time per kernel variant.
# Usage: gnuplot -c tests/bench/plot_kernel.gp out/bench/kernel.csv out/bench/kernel.png [APP]
# Columns are read by name from the CSV header, so bench_kernel.sh may add columns freely.

if (ARGC < 2) {
    print "usage: gnuplot -c plot_kernel.gp KERNEL.CSV OUT.PNG [APP]"
    exit status 2
}
csv = ARG1
png = ARG2
app = (ARGC >= 3) ? ARG3 : "nginx"

# pngcairo draws nicer text; plain png is the fallback on builds without cairo.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1500,1100 font "Sans,11" noenhanced
} else {
    set terminal png size 1500,1100 noenhanced
}
set output png

set datafile separator ","
set datafile columnheaders
MB = 1e6
S = 1e6

# One colour per kernel; the initrd part of a bar is grey whatever the kernel.
kernel_colour(k) = (k eq "cloud") ? 0xdd8452 : (k eq "tinyx") ? 0x8fb3e0 : 0x2b6cb0
initrd_colour = 0xb8b8b8
tick(i) = sprintf("%s\n%s\n%s initrd%s", strcol("kernel"), strcol("format"), strcol("initrd"), \
                  (strstrt(strcol("label"), "as shipped") > 0) ? "\n(as shipped)" : "")

set style fill solid 0.9 border lc rgb "#333333"
set grid ytics lc rgb "#dddddd"
set xtics nomirror scale 0
set offsets 0.6, 0.6, 0, 0
set key top right samplen 2
set bmargin 6
set tmargin 3
w = 0.6

set multiplot layout 2,1 title sprintf("%s: Debian cloud kernel vs Tinyx kernel before and after kconfig-min (QEMU TCG, one bench run)", app) font ",13"

# Panel 1: kernel + initrd, stacked, linear scale; total and 'x smaller than the cloud image' above.
stats csv using (column("image_bytes")/MB) nooutput
set yrange [0:STATS_max * 1.3]
set ylabel "image size, MB (10^6 bytes)"
set title "image = kernel (colour) + initrd (grey) (x = times smaller than the cloud bzImage image)"
plot csv using ($0):(0):($0 - w/2):($0 + w/2):(0):(column("kernel_bytes")/MB):(kernel_colour(strcol("kernel"))) \
         with boxxyerror lc rgb variable notitle, \
     csv using ($0):(0):($0 - w/2):($0 + w/2):(column("kernel_bytes")/MB):(column("image_bytes")/MB) \
         with boxxyerror lc rgb initrd_colour title "initrd", \
     csv using ($0):(column("image_bytes")/MB + STATS_max * 0.14):(sprintf("%.2f MB\n= %.2f + %.2f\n%.1fx", column("image_bytes")/MB, column("kernel_bytes")/MB, column("initrd_bytes")/MB, column("image_ratio_vs_cloud"))):xtic(tick(0)) \
         with labels font ",10" notitle

# Panel 2: ready (median, bar; min-max, whisker) and boot (median, narrow dark bar inside).
stats csv using (column("ready_us_max")/S) nooutput
set yrange [0:STATS_max * 1.3]
set ylabel "seconds from VM start"
set title "boot-to-ready (bar: median; whisker: min-max; inner bar: boot to init's signal) (x = times faster than cloud bzImage)"
plot csv using ($0):(0):($0 - w/2):($0 + w/2):(0):(column("ready_us_median")/S):(kernel_colour(strcol("kernel"))) \
         with boxxyerror lc rgb variable notitle, \
     csv using ($0):(0):($0 - w/6):($0 + w/6):(0):(column("boot_us_median")/S) \
         with boxxyerror lc rgb "#444444" title "boot (median)", \
     csv using ($0):(column("ready_us_median")/S):(column("ready_us_min")/S):(column("ready_us_max")/S) \
         with yerrorbars lc rgb "#000000" pt 7 ps 0.3 title "ready min-max", \
     csv using ($0):(column("ready_us_max")/S + STATS_max * 0.08):(sprintf("%.2f s\n%.2fx", column("ready_us_median")/S, column("ready_speedup_vs_cloud"))):xtic(tick(0)) \
         with labels font ",10" notitle

unset multiplot
