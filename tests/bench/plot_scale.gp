# plot_scale.gp: draws scale.csv (bench_scale.sh): create and boot time of instance i, memory per VM.
# Usage: gnuplot -c tests/bench/plot_scale.gp SCALE.CSV SUMMARY.CSV OUT.PNG [RUNC_MEDIAN_US]
# Columns are read by name from the CSV headers, so bench_scale.sh may add columns freely.

if (ARGC < 3) {
    print "usage: gnuplot -c plot_scale.gp SCALE.CSV SUMMARY.CSV OUT.PNG [RUNC_MEDIAN_US]"
    exit status 2
}
csv = ARG1
summary = ARG2
png = ARG3
runc_ms = (ARGC >= 4 && strlen(ARG4) > 0) ? ARG4 / 1000.0 : NaN

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1500,1000 font "Sans,11" noenhanced
} else {
    set terminal png size 1500,1000 noenhanced
}
set output png
set datafile separator ","
set datafile columnheaders

# The VM series in drawing order, with their labels and colours (absent ones draw nothing).
vm_series = "qemu tinyx-kvm daemon-pool0 daemon-prepared"
label(s) = s eq "qemu" ? "QEMU microvm process per VM" : \
           s eq "tinyx-kvm" ? "tinyx-kvm process per VM" : \
           s eq "daemon-pool0" ? "tinyx daemon, no prepared shells (--pool 0)" : \
           s eq "daemon-prepared" ? "tinyx daemon, prepared shells (split toolstack)" : s
colour(s) = s eq "qemu" ? "#dd8452" : s eq "tinyx-kvm" ? "#8172b3" : \
            s eq "daemon-pool0" ? "#c44e52" : s eq "daemon-prepared" ? "#2b6cb0" : "#555555"

# Which series have rows: plotting one with none would stop gnuplot ("no valid points").
present = ""
do for [s in vm_series] {
    stats csv using (strcol("series") eq s ? 1 : 0) nooutput
    if (STATS_sum > 0) { present = present . " " . s }
}
if (strlen(present) == 0) {
    print "plot_scale.gp: no VM series in " . csv
    exit status 1
}

set multiplot layout 2,2 title "Scale: the idle test guest, instance i created while i-1 keep running"
set grid xtics ytics lc rgb "#dddddd"
set logscale y 10
set xlabel "instance i (number of VMs already running + 1)"
set key top left reverse Left samplen 1.5 spacing 1.1 font ",10"
set xrange [0:*]

# Room above the data for the key: the timings here stay well under 10 s.
set yrange [0.05:30000]
set ytics ("0.1" 0.1, "1" 1, "10" 10, "100" 100, "1 s" 1000, "10 s" 10000)
set title "Creation time of instance i (QEMU: no create phase of its own, spawn -> boot-timer byte)"
set ylabel "ms, log scale"
plot for [s in present] csv using 2:(strcol("series") eq s ? column("create_us") / 1000.0 : NaN) \
    with points pt 7 ps 0.35 lc rgb colour(s) title label(s)

set title "Boot time of instance i (request or spawn -> boot-timer byte)"
# runc's median start is a line across (its runs are not kept alive), named in the key.
runc_title = runc_ms == runc_ms ? sprintf("runc: container start -> ready, median %.1f ms", runc_ms) : ""
if (runc_ms == runc_ms) {
    set arrow 1 from graph 0, first runc_ms to graph 1, first runc_ms nohead dt 2 lw 2 lc rgb "#2a9d4a"
}
plot for [s in present] csv using 2:(strcol("series") eq s ? column("boot_us") / 1000.0 : NaN) \
        with points pt 7 ps 0.35 lc rgb colour(s) title label(s), \
     NaN with lines dt 2 lw 2 lc rgb "#2a9d4a" title runc_title
unset arrow 1

set title "Host memory per idle VM at the end (all instances running)"
set ylabel "KiB per VM, log scale"
set xlabel ""
unset xrange
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border lc rgb "#333333"
set boxwidth 0.9
set xtics nomirror scale 0 font ",9"
set yrange [10:*]
set ytics auto
set key top right noreverse Right
# The summary lists the VM series first, in vm_series order, then runc (no memory, no create).
last_vm = words(present) - 1
plot summary every ::0::last_vm using (column("pss_kb_per_instance")):xtic(1) \
        title "PSS of the VM's process(es)" lc rgb "#2b6cb0", \
     "" every ::0::last_vm using (column("memavail_drop_kb_per_instance")) \
        title "MemAvailable drop (includes kernel memory)" lc rgb "#aaaaaa"

set title "Creation time: the first and last windows (medians)"
set ylabel "ms, log scale"
set yrange [0.1:*]
plot summary every ::0::last_vm using (column("create_first_window_median_us") / 1000.0):xtic(1) \
        title "first instances" lc rgb "#7fb3d5", \
     "" every ::0::last_vm using (column("create_last_window_median_us") / 1000.0) title "last instances" lc rgb "#1f4e79"
unset multiplot
