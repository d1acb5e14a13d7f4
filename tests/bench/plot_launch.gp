# plot_launch.gp: draws launch.csv (bench_launch.sh): every boot of the noop guest, per round and
# backend (fresh tinyx-kvm, prepared daemon shell, QEMU microvm), with its accelerator.
# Usage: gnuplot -c tests/bench/plot_launch.gp out/bench/launch.csv out/bench/launch.png [HOST]

if (ARGC < 2) {
    print "usage: gnuplot -c plot_launch.gp LAUNCH.CSV OUT.PNG [HOST]"
    exit status 2
}
csv = ARG1
png = ARG2
host = (ARGC >= 3) ? ARG3 : ""

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1100,600 font "Sans,11" noenhanced
} else {
    set terminal png size 1100,600 noenhanced
}
set output png
set datafile separator ","
set datafile columnheaders

set title sprintf("noop guest: VM start to boot-timer byte, every boot, per round\n%s", host)
set xlabel "round (each: the same number of boots per backend, backends in turn)"
set ylabel "ms (log scale)"
set logscale y
set grid ytics
set key outside right
set xtics 1
set offsets 0.5, 0.5, 0, 0
# Backends side by side within a round.
offset(b) = (b eq "kvm") ? -0.2 : (b eq "daemon") ? 0.0 : 0.2
pick(b) = (strcol("backend") eq b) ? column("boot_us") / 1000.0 : NaN
plot csv using (column("round") + offset("kvm")):(pick("kvm")) with points pt 7 ps 0.6 lc rgb "#2b6cb0" title "fresh tinyx-kvm", \
     csv using (column("round") + offset("daemon")):(pick("daemon")) with points pt 7 ps 0.6 lc rgb "#38a169" title "daemon, prepared shell", \
     csv using (column("round") + offset("qemu")):(pick("qemu")) with points pt 7 ps 0.6 lc rgb "#dd8452" title "QEMU microvm"
