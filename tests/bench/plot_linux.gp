# plot_linux.gp: draws bench_linux.sh's results: nginx boot-to-ready per variant, create-to-boot of guest i per series, host PSS per guest.
# Usage: gnuplot -c tests/bench/plot_linux.gp READY.CSV SCALE.CSV OUT.PNG TITLE PSS_PREPARED PSS_POOL0 PSS_QEMU
# (PSS per VM in KiB; 0 when a series has no figure.) Columns are read by name from the CSV
# headers, so bench_linux.sh may add columns freely.

if (ARGC < 7) {
    print "usage: gnuplot -c plot_linux.gp READY.CSV SCALE.CSV OUT.PNG TITLE PSS_PREPARED PSS_POOL0 PSS_QEMU"
    exit status 2
}
ready = ARG1
scale = ARG2
png = ARG3
title = ARG4
pss_prepared = ARG5 + 0
pss_pool0 = ARG6 + 0
pss_qemu = ARG7 + 0

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1800,600 font "Sans,11" noenhanced
} else {
    set terminal png size 1800,600 noenhanced
}
set output png
set datafile separator ","
set datafile columnheaders

# --- the medians of the ready part, per variant, into a datablock -------------------------------
variants = "tinyx-kvm daemon qemu"
vlabel(v) = v eq "tinyx-kvm" ? "tinyx-kvm (fresh)" : v eq "daemon" ? "daemon shell" : \
            v eq "qemu" ? "QEMU (KVM)" : v
# (datablocks are read like the CSVs: comma-separated, a header line first)
set print $medians
print "variant,boot_s,ready_s"
do for [v in variants] {
    stats ready using (strcol("variant") eq v && strlen(strcol("ready_us")) > 0 ? 1 : 0) nooutput
    if (STATS_sum > 0) {
        stats ready using (strcol("variant") eq v && strlen(strcol("ready_us")) > 0 ? column("boot_us") / 1e6 : NaN) nooutput
        b = STATS_median
        stats ready using (strcol("variant") eq v && strlen(strcol("ready_us")) > 0 ? column("ready_us") / 1e6 : NaN) nooutput
        r = STATS_median
        print sprintf("%s,%.4f,%.4f", vlabel(v), b, r)
    }
}
unset print

# --- the scale series present (plotting one with no rows would stop gnuplot) ---------------------
all_series = "daemon-prepared daemon-pool0 qemu"
slabel(s) = s eq "daemon-prepared" ? "tinyx daemon, prepared shells" : \
            s eq "daemon-pool0" ? "tinyx daemon --pool 0 (fresh shell)" : \
            s eq "qemu" ? "QEMU microvm -accel kvm process" : s
colour(s) = s eq "daemon-prepared" ? "#2b6cb0" : s eq "daemon-pool0" ? "#c44e52" : \
            s eq "qemu" ? "#dd8452" : "#555555"
present = ""
do for [s in all_series] {
    stats scale using (strcol("series") eq s ? 1 : 0) nooutput
    if (STATS_sum > 0) { present = present . " " . s }
}

set multiplot layout 1,3 title title
set grid ytics lc rgb "#dddddd"
set style fill solid 0.85 border lc rgb "#333333"

# Left: boot and ready, medians.
set title "Boot-to-ready, medians (start -> boot byte / HTTP 200)"
set style data histograms
set style histogram clustered gap 1
set boxwidth 0.9
set ylabel "seconds"
set yrange [0:*]
set xtics nomirror scale 0 font ",10"
set key top left
plot $medians using 2:xtic(1) title "boot" lc rgb "#7fb3d5", \
     "" using 3 title "ready" lc rgb "#1f4e79", \
     "" using ($0 + 0.15):3:(sprintf("%.2f s", $3)) with labels offset 0,0.8 font ",9" notitle

# Middle: create-to-boot of guest i, every series.
set title "Guest i, created while i-1 run: request -> boot byte"
set style data linespoints
set xlabel "guest i"
set ylabel "seconds"
set xtics auto font ",10"
set xrange [0:*]
set key bottom right font ",10"
if (strlen(present) > 0) {
    plot for [s in present] scale using 2:(strcol("series") eq s ? column("boot_us") / 1e6 : NaN) \
        with linespoints pt 7 ps 0.6 lc rgb colour(s) title slabel(s)
} else {
    set label 1 "no scale series" at graph 0.5, graph 0.5 center
    plot NaN notitle
    unset label 1
}
unset xlabel
unset xrange

# Right: host PSS per idle guest, all guests running.
set title "Host PSS per idle nginx guest, all running"
set style data histograms
set ylabel "MiB per guest"
set yrange [0:*]
set xtics nomirror scale 0 font ",10"
set print $pss
print "series,pss_mib"
print sprintf("daemon shells,%.3f", pss_prepared / 1024.0)
print sprintf("--pool 0,%.3f", pss_pool0 / 1024.0)
print sprintf("QEMU (KVM),%.3f", pss_qemu / 1024.0)
unset print
plot $pss using 2:xtic(1) notitle lc rgb "#2b6cb0", \
     "" using 0:2:(sprintf("%.1f MiB", $2)) with labels offset 0,0.8 font ",9" notitle
unset multiplot
