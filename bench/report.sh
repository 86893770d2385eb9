#!/usr/bin/env bash
# Writes the benchmarks page and its charts from the samples bench/run.sh
# collected: one section per benchmark found in RESULTS.
#   bench/report.sh RESULTS PAGE     (charts: PAGE's folder/benchmarks/NAME.png)
# Exit status 1 when a benchmark that ran left a figure without samples.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
res=$(cd "$1" && pwd)
page=$2
mkdir -p "$(dirname "$page")/benchmarks"
charts=$(cd "$(dirname "$page")/benchmarks" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
d=		# the results folder of the section being written
: > "$tmp/missing"
: > "$tmp/summary"
: > "$tmp/old"
[ ! -f "$page" ] || cp "$page" "$tmp/old"	# what a benchmark that did not run keeps

# --- figures ----------------------------------------------------------------

isnum() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }

# stat4 FILE: "min median p90 n" of the samples in $d/FILE; a figure that
# should be there and is not is reported at the end.
stat4() {
	local f=$1
	[[ $f == /* ]] || f=$d/$f
	if [ -s "$f" ]; then
		"$here/stats.sh" < "$f"
	else
		echo "${d##*/}/$1" >> "$tmp/missing"
		echo "- - - 0"
	fi
}

# fmt VALUE DIV DIGITS
fmt() {
	isnum "$1" || { echo "–"; return; }
	awk -v v="$1" -v d="$2" -v p="$3" 'BEGIN { printf "%." p "f", v / d }'
}

# cell FILE DIV DIGITS: "min / median / p90" ("–" for no file name).
cell() {
	local min med p90 n
	[ -n "$1" ] || { echo "–"; return; }
	read -r min med p90 n < <(stat4 "$1")
	echo "$(fmt "$min" "$2" "$3") / $(fmt "$med" "$2" "$3") / $(fmt "$p90" "$2" "$3")"
}

median() { [ -z "$1" ] && echo - || stat4 "$1" | cut -d' ' -f2; }
count() { [ -s "$d/$1" ] && wc -l < "$d/$1" || echo 0; }
total() { [ -s "$d/$1" ] && awk '{ s += $1 } END { print s }' "$d/$1" || echo –; }

# ratio A B: median of A over median of B.
ratio() {
	local a b
	a=$(median "$1") b=$(median "$2")
	isnum "$a" && isnum "$b" && [ "$b" != 0 ] || { echo "–"; return; }
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }'
}

# row LABEL PETREL QEMU DIV DIGITS [nosum]: a table row (either file may be
# empty: not measured), and a line of the summary when both are there.
row() {
	local label=$1 p=$2 q=$3 r np=– nq=–
	r=$(ratio "$p" "$q")
	[ -z "$p" ] || np=$(count "$p")
	[ -z "$q" ] || nq=$(count "$q")
	echo "| $label | $(cell "$p" "$4" "$5") | $(cell "$q" "$4" "$5") | **$r** | $np, $nq |"
	[ -z "$p" ] || [ -z "$q" ] || [ "${6:-}" = nosum ] ||
		echo "| $section | $label | $(fmt "$(median "$p")" "$4" "$5") | $(fmt "$(median "$q")" "$4" "$5") | **$r** |" \
			>> "$tmp/summary"
}

table_head() {
	echo "| $1 | petrel min / median / p90 | QEMU microvm min / median / p90 | petrel / QEMU (median) | runs (petrel, QEMU) |"
	echo "|---|---|---|---|---|"
}

# --- charts -----------------------------------------------------------------
# panel TITLE DIV SERIES...  starts a panel of the current chart;
# bar CATEGORY FILE...       adds a group of bars (median, whiskers min to p90);
# draw NAME TITLE            renders charts/NAME.png and links it.

npanels=0
panel() {
	npanels=$((npanels + 1))
	echo "$1" > "$tmp/p$npanels.title"
	echo "$2" > "$tmp/p$npanels.div"
	shift 2
	printf '%s\n' "$@" > "$tmp/p$npanels.series"
	: > "$tmp/p$npanels.dat"
}

bar() {
	local line="\"$1\"" f min med p90 n div
	div=$(cat "$tmp/p$npanels.div")
	shift
	for f in "$@"; do
		read -r min med p90 n < <(stat4 "$f")
		line+=" $(fmt "$med" "$div" 3) $(fmt "$min" "$div" 3) $(fmt "$p90" "$div" 3)"
	done
	echo "${line//–/-}" >> "$tmp/p$npanels.dat"
}

draw() {
	local name=$1 i s col color np nq
	{
		echo "set terminal pngcairo noenhanced size $((npanels > 1 ? 360 * npanels + 40 : 640)),400 font 'sans,10'"
		echo "set output '$charts/$name.png'"
		echo "set multiplot layout 1,$npanels title \"$2\""
		echo "set style data histogram"
		echo "set style histogram errorbars gap 1 lw 1"
		echo "set style fill solid 0.85 border -1"
		echo "set datafile missing '-'"
		echo "set yrange [0:*]"
		echo "set grid ytics"
		echo "set key below width 2"
		# two-line labels under the bars: room for them above the key
		! cat "$tmp"/p*.dat | grep -qF '\n' || echo "set bmargin 6"
		for i in $(seq "$npanels"); do
			echo "set title \"$(cat "$tmp/p$i.title")\""
			s=0 np=0 nq=0
			printf 'plot '
			while read -r series; do
				col=$((2 + 3 * s))
				# petrel in blues, QEMU in oranges
				# (counted out here: a $(...) would count in a subshell)
				if [[ $series == petrel* ]]; then
					np=$((np + 1))
					color=$(echo "#3b6ea8 #8fb3dd" | cut -d' ' -f$np)
				else
					nq=$((nq + 1))
					color=$(echo "#e0802c #f5be8c" | cut -d' ' -f$nq)
				fi
				[ "$s" = 0 ] || printf ', '
				printf "'%s' using %d:%d:%d:xtic(1) title \"%s\" lc rgb '%s'" \
					"$tmp/p$i.dat" "$col" "$((col + 1))" "$((col + 2))" "$series" "$color"
				s=$((s + 1))
			done < "$tmp/p$i.series"
			echo
		done
		echo "unset multiplot"
	} > "$tmp/$name.gp"
	gnuplot "$tmp/$name.gp"
	npanels=0
	echo "![$2](benchmarks/$name.png)"
}

# --- page pieces --------------------------------------------------------------

info() { sed -n "s/^$1 //p" "$res/machine" 2>/dev/null | head -n 1; }

# kept TITLES [OTHER]: a section whose benchmark has no results here stays as
# the page had it (the title after "## N. " starts with one of TITLES, a regex
# alternation, and is not OTHER's, which starts alike), with its summary rows;
# the results of an earlier run may be long gone.
kept() {
	awk -v h="^## [0-9]+[.] ($1)" -v o="^## [0-9]+[.] (${2:-\$^})" \
		'/^## / { on = $0 ~ h && $0 !~ o } on' "$tmp/old"
	grep -E "^\| ($1) \|" "$tmp/old" >> "$tmp/summary" || true
}

# results DIR TITLES: d=$res/DIR, and true when the benchmark left results
# there; else the page's section stays as it was (kept TITLES), and false.
results() {
	d=$res/$1
	[ -d "$d" ] && return 0
	kept "$2"
	return 1
}

# old_row NAME: the page's row "| NAME | ...", for a fact this run did not see.
old_row() { grep -m 1 -F "| $1 |" "$tmp/old"; }

# when: how many runs, when and under what load the section's benchmark ran.
when() {
	local runs start end commit
	runs=$(cat "$d/runs" 2>/dev/null || echo ?)
	start=$(sed -n 's/^start \(.*\) load \(.*\)/\1 (load average \2)/p' "$d/when")
	end=$(sed -n 's/^end \(.*\) load \(.*\)/\1 (load average \2)/p' "$d/when")
	commit=$(sed -n 's/^commit //p' "$d/when")
	echo "Runs: $runs of each measurement, from $start to $end${commit:+, petrel at commit $commit}."
}

commands() {
	echo
	echo "Commands (\`\$WORK\` is the script's temporary folder, \`\$GUESTS\` the guest images):"
	echo
	echo '```'
	cat "$d/commands"
	echo '```'
}

# --- sections -----------------------------------------------------------------

boot() {
	local g label
	[ -d "$res/boot" ] || [ -d "$res/linux" ] || { kept Boot "Boot timeline"; return 0; }
	section=Boot
	echo "## 1. Boot"
	echo
	if [ -d "$res/boot" ]; then
		d=$res/boot
		echo "The probe guest (1 vCPU, 128 MiB) on this host, \`bench/boot.sh\`: from the"
		echo "monitor's exec until the probe prints \`probe: hello cpus=1\` on the serial"
		echo "console (\`bench/linetime\` times the line on the monitor's stdout). Through"
		echo "the API: petrel started with an empty configuration, \`PUT /boot-source\`"
		echo "and \`PUT /machine-config\`, then the clock runs from sending \`PUT /actions\`"
		echo "\`InstanceStart\` until the hello line (\`bench/apiclient start\`). QEMU's"
		echo "nearest equivalent is \`-S\` (machine built, kernel loaded, vCPUs stopped)"
		echo "and QMP \`cont\`; petrel builds the whole VM on \`InstanceStart\`, so the two"
		echo "are not the same work. petrel's Guest-boot-time is its own log line (VM"
		echo "build start → the guest's boot-timer write), from the exec runs."
		when
		echo
		table_head "measure, ms (lower is better)"
		row "probe: exec → hello line" petrel.exec-hello qemu.exec-hello 1000 1
		row "probe: API start → hello line (InstanceStart; -S + QMP cont)" \
			petrel.api-hello qemu.api-hello 1000 1
		row "probe: API start → its answer" petrel.api-answer qemu.api-answer 1000 2 nosum
		row "probe: petrel Guest-boot-time" petrel.boot-timer "" 1000 1
		panel "probe: exec → hello (ms)" 1000 petrel "QEMU microvm"
		bar "exec" petrel.exec-hello qemu.exec-hello
		panel "probe: API start → hello (ms)" 1000 petrel "QEMU microvm"
		bar "InstanceStart / cont" petrel.api-hello qemu.api-hello
		commands
	fi
	if [ -d "$res/linux" ]; then
		d=$res/linux
		echo
		echo "Linux guests in the test host VM, \`bench/linux-boot.sh\`: inside L1 (QEMU"
		echo "TCG, \`-cpu max -smp 1\`, $(sed -n 's/^l1-kernel //p' "$d/versions" 2>/dev/null), real KVM),"
		echo "each kernel booted by each monitor with 1 vCPU and 256 MiB, from the"
		echo "monitor's exec until the guest's init prints \`petrel-guest: init started\`"
		echo "(initramfs: busybox). QEMU gets \`-M microvm,acpi=off\` for the micro kernel"
		echo "(no ACPI in it) and \`acpi=on\` for the stock one. micro-vmlinux boots"
		echo "through PVH, micro-bzImage through the 64-bit boot protocol, stock-vmlinuz"
		echo "is Debian's cloud kernel (bzImage, LZ4), which finds its devices through"
		echo "ACPI only. Every time here is inflated many times over by L1's software"
		echo "emulation (each L2 console byte is a nested exit): read the ratio."
		when
		echo
		table_head "measure, s (lower is better)"
		panel "Linux (micro PVH, bzImage; stock): exec → init (s)" 1000000 petrel "QEMU microvm"
		for g in micro-vmlinux micro-bzImage stock-vmlinuz; do
			[ -e "$d/petrel.$g" ] || [ -e "$d/qemu.$g" ] || continue
			row "$g: exec → init line" "petrel.$g" "qemu.$g" 1000000 2
			# short labels: three fit under the panel
			case "$g" in
			micro-vmlinux) label=PVH ;;
			micro-bzImage) label=bzImage ;;
			*) label=stock ;;
			esac
			bar "$label" "petrel.$g" "qemu.$g"
		done
		for g in micro-vmlinux micro-bzImage stock-vmlinuz; do
			[ -e "$d/timer.$g" ] || continue
			row "$g: petrel Guest-boot-time" "timer.$g" "" 1000000 2
		done
		commands
	fi
	echo
	[ "$npanels" = 0 ] || draw boot "Boot: petrel beside QEMU microvm"
	echo
}

api() {
	local k c n base=""
	results api "API|Startup" || return 0
	section=API
	[ ! -f "$d/baseline" ] || base=$(sed -n 's/^commit //p' "$d/baseline")
	n=$(sed -n 's/^apiload -c [0-9]* -n \([0-9]*\) .*/\1/p' "$d/commands" | head -n 1)
	echo "## 2. API: startup, requests per second, many clients"
	echo
	echo "\`bench/api.sh\`: from the monitor's exec until its control socket accepts a"
	echo "connection, and until the first answer on it (petrel: \`GET /\`; QEMU: the"
	echo "QMP greeting). petrel starts with no VM at all; QEMU cannot start without a"
	echo "machine, so it gets the probe's with \`-S\` (built, not running)."
	when
	echo
	table_head "measure, ms (lower is better)"
	row "exec → API socket accepting (QEMU: QMP socket)" petrel.accept qemu.accept 1000 2
	row "exec → first answer (GET / ; QMP greeting)" petrel.answer qemu.answer 1000 2
	row "petrel main() → listening (its process_startup_time_us)" petrel.main-listening "" 1000 2
	echo
	echo "petrel's \`GET /\` over one keep-alive connection, requests per second"
	echo "(min / median / p90 of 3): $(cell petrel.rate-idle 1 0) with no VM,"
	echo "$(cell petrel.rate-running 1 0) with the probe guest running (halted)."
	echo
	echo "Many clients at once, the probe guest running (halted): \`tests/load/apiload\`"
	echo "sends $n \`GET /\` from 1 and from 50 client threads and checks every"
	echo "answer, three times each. *keep*: each client holds one keep-alive"
	echo "connection; *mixed*: every other client opens a connection per request"
	echo "(\`Connection: close\`), so one client alone opens one per request. Requests"
	echo "answered per second over the whole run; p99: the 99th percentile of the"
	echo "time from sending a request to having its whole answer (or giving up)."
	if [ -n "$base" ]; then
		echo "The baseline (\`--baseline $base\`) is petrel at commit $base"
		echo "(\"$(sed -n 's/^subject //p' "$d/baseline")\"),"
		echo "built the same way, its own probe guest halted too; each run against it"
		echo "follows the same run against this petrel."
	fi
	echo
	load_head "$base"
	for k in keep mixed; do
		for c in 1 50; do
			load_row "$c $(clients "$c"), $k: requests answered per second (higher is better)" "$k$c-rps" 1 0 "$base"
			load_row "$c $(clients "$c"), $k: p99 latency, ms (lower is better)" "$k$c-p99" 1000 2 "$base"
		done
	done
	echo
	echo "| requests answered, all runs together | petrel |${base:+ petrel at $base |}"
	echo "|---|---|${base:+---|}"
	for k in keep mixed; do
		for c in 1 50; do
			echo "| $c $(clients "$c"), $k | $(answered "petrel.$k$c" "$n") |${base:+ $(answered "baseline.$k$c" "$n") |}"
		done
	done
	echo
	echo "A request not answered is *lost* (no whole answer within apiload's 30 s, or"
	echo "the connection refused or broken), *idle_closed* (the server closed a"
	echo "keep-alive connection between requests without saying so), *malformed* or"
	echo "*unexpected* (a status its request does not allow)."
	commands
	echo
	panel "exec → socket accepting (ms)" 1000 petrel "QEMU microvm"
	bar "accepting" petrel.accept qemu.accept
	bar "first answer" petrel.answer qemu.answer
	load_panel "apiload: answered per second" 1 "$base" rps
	load_panel "apiload: p99 latency (ms)" 1000 "$base" p99
	draw api "API: startup beside QEMU microvm; many clients${base:+, beside petrel at $base}"
	echo
}

clients() { [ "$1" = 1 ] && echo client || echo clients; }

# load_head BASE, load_row LABEL FIGURE DIV DIGITS BASE: a table of apiload's
# figures, this petrel's and, when there is a baseline, the baseline's.
load_head() {
	if [ -n "$1" ]; then
		echo "| apiload | petrel min / median / p90 | petrel at $1 min / median / p90 | petrel / $1 (median) | runs (petrel, $1) |"
		echo "|---|---|---|---|---|"
	else
		echo "| apiload | petrel min / median / p90 | runs |"
		echo "|---|---|---|"
	fi
}

load_row() {
	if [ -n "$5" ]; then
		echo "| $1 | $(cell "petrel.$2" "$3" "$4") | $(cell "baseline.$2" "$3" "$4") |" \
			"**$(ratio "petrel.$2" "baseline.$2")** | $(count "petrel.$2"), $(count "baseline.$2") |"
	else
		echo "| $1 | $(cell "petrel.$2" "$3" "$4") | $(count "petrel.$2") |"
	fi
}

# answered RUN REQUESTS: "A of N" over RUN's runs, with what became of the rest.
answered() {
	local a runs kind t why=""
	a=$(total "$1-answered")
	runs=$(count "$1-answered")
	for kind in lost idle_closed malformed unexpected; do
		t=$(total "$1-$kind")
		[ "$t" = 0 ] || [ "$t" = – ] || why+="${why:+, }$kind $t"
	done
	isnum "$a" || { echo "$1-answered" >> "$tmp/missing"; echo "–"; return; }
	echo "$a of $((runs * $2))${why:+ ($why)}"
}

# load_panel TITLE DIV BASE FIGURE: a chart panel of apiload's FIGURE.
load_panel() {
	local k c
	if [ -n "$3" ]; then
		panel "$1" "$2" petrel "petrel at $3"
	else
		panel "$1" "$2" petrel
	fi
	for k in keep mixed; do
		for c in 1 50; do
			if [ -n "$3" ]; then
				bar "$c\\n$k" "petrel.$k$c-$4" "baseline.$k$c-$4"
			else
				bar "$c\\n$k" "petrel.$k$c-$4"
			fi
		done
	done
}

size() { sed -n "s/^$1 //p" "$d/sizes"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }

memory() {
	local pb ps qb ql
	results memory "Memory( overhead and size)?" || return 0
	section=Memory
	echo "## 3. Memory overhead and size"
	echo
	echo "\`bench/memory.sh\`: the probe guest (1 vCPU, 128 MiB) idle, halted after its"
	echo "hello line; one second later the monitor's \`/proc/PID/smaps\`, without the"
	echo "guest RAM mapping (for both monitors the one anonymous mapping of exactly"
	echo "128 MiB). *anon*: resident pages of anonymous mappings (heap, stacks, the"
	echo "vCPU's \`kvm_run\`) and private copies in file mappings (relocated data);"
	echo "*file*: resident pages still backed by their file (text, read-only data,"
	echo "shared libraries), counted whole even when other processes share them; the"
	echo "overhead is their sum. Pss shares each page among the processes mapping it."
	when
	echo
	table_head "measure, MiB (lower is better)"
	row "anon" petrel.anon qemu.anon 1024 2
	row "file" petrel.file qemu.file 1024 2
	row "overhead (anon + file)" petrel.total qemu.total 1024 2
	row "Pss without guest RAM" petrel.pss qemu.pss 1024 2
	row "guest RAM resident (not overhead)" petrel.guest qemu.guest 1024 2
	echo
	pb=$(size petrel.binary) ps=$(size petrel.stripped) qb=$(size qemu.binary) ql=$(size qemu.libs)
	echo "Size on disk, MB (10^6 bytes): petrel is one static binary, QEMU is"
	echo "\`qemu-system-x86_64\` and the $(size qemu.nlibs) shared libraries \`ldd\` lists for it."
	echo
	echo "| binary | petrel | QEMU | petrel / QEMU |"
	echo "|---|---|---|---|"
	echo "| as built / installed | $(mb "$pb") (with debug info) | $(mb "$qb") | $(awk -v a="$pb" -v b="$qb" 'BEGIN { printf "%.2f", a / b }') |"
	echo "| stripped | $(mb "$ps") | $(mb "$qb") (as installed) | **$(awk -v a="$ps" -v b="$qb" 'BEGIN { printf "%.3f", a / b }')** |"
	echo "| with its shared libraries | $(mb "$ps") (static) | $(mb $((qb + ql))) | **$(awk -v a="$ps" -v b="$((qb + ql))" 'BEGIN { printf "%.3f", a / b }')** |"
	echo "| Memory | binary stripped, MB | $(mb "$ps") | $(mb "$qb") | **$(awk -v a="$ps" -v b="$qb" 'BEGIN { printf "%.3f", a / b }')** |" >> "$tmp/summary"
	echo "| Memory | binary with shared libraries, MB | $(mb "$ps") | $(mb $((qb + ql))) | **$(awk -v a="$ps" -v b="$((qb + ql))" 'BEGIN { printf "%.3f", a / b }')** |" >> "$tmp/summary"
	commands
	echo
	panel "VMM memory without guest RAM (MiB)" 1024 petrel "QEMU microvm"
	bar "anon" petrel.anon qemu.anon
	bar "file" petrel.file qemu.file
	bar "anon + file" petrel.total qemu.total
	echo "$ps" > "$tmp/size.petrel"
	echo "$qb" > "$tmp/size.qemu"
	echo $((qb + ql)) > "$tmp/size.qemu-libs"
	panel "size on disk, petrel stripped (MB)" 1000000 petrel "QEMU microvm"
	bar "binary" "$tmp/size.petrel" "$tmp/size.qemu"
	bar "+ shared libs" "$tmp/size.petrel" "$tmp/size.qemu-libs"
	draw memory "Memory overhead at guest idle, and size: petrel beside QEMU microvm"
	echo
}

density() {
	local n
	results density Density || return 0
	section=Density
	echo "## 4. Density"
	echo
	echo "\`bench/density.sh\`: N probe VMs (1 vCPU, 128 MiB, \`probe.action=halt\`)"
	echo "started at once by \`bench/fleet\`, one monitor process each; the time from"
	echo "the first fork until every VM printed its hello line, VMs per second, and"
	echo "host memory per VM (MemAvailable before the first fork minus at the last"
	echo "hello line, over N, and minus one second after it, when the first VMs have"
	echo "had longer to settle; other work on the machine moves it too). Then SIGTERM"
	echo "to all: a VM fails if it never printed hello or did not exit with status 0."
	when
	echo
	table_head "measure"
	for n in $(cat "$d/counts"); do
		row "N=$n: exec → all hello, s (lower is better)" "petrel.$n.all" "qemu.$n.all" 1000000 2
		row "N=$n: VMs per second (higher is better)" "petrel.$n.rate" "qemu.$n.rate" 1 0
		row "N=$n: host memory per VM at all hello, MiB (lower is better)" "petrel.$n.mem" "qemu.$n.mem" 1024 2
		row "N=$n: host memory per VM 1 s later, MiB (lower is better)" "petrel.$n.mem-later" "qemu.$n.mem-later" 1024 2
	done
	echo
	echo "| VMs that failed, all runs together | petrel | QEMU |"
	echo "|---|---|---|"
	for n in $(cat "$d/counts"); do
		echo "| N=$n (runs: $(count "petrel.$n.failed"), $(count "qemu.$n.failed")) | $(total "petrel.$n.failed") | $(total "qemu.$n.failed") |"
	done
	commands
	echo
	panel "exec → all hello (s)" 1000000 petrel "QEMU microvm"
	for n in $(cat "$d/counts"); do bar "N=$n" "petrel.$n.all" "qemu.$n.all"; done
	panel "VMs per second" 1 petrel "QEMU microvm"
	for n in $(cat "$d/counts"); do bar "N=$n" "petrel.$n.rate" "qemu.$n.rate"; done
	panel "host memory per VM, 1 s after all hello (MiB)" 1024 petrel "QEMU microvm"
	for n in $(cat "$d/counts"); do bar "N=$n" "petrel.$n.mem-later" "qemu.$n.mem-later"; done
	draw density "Density: N VMs at once, petrel beside QEMU microvm"
	echo
}

blk() {
	local m label dig e mib ms
	results blk Block || return 0
	section=Block
	echo "## 5. Block"
	echo
	mib=$(sed -n 's/.*probe.blk_mib=\([0-9]*\).*/\1/p' "$d/commands" | head -n 1)
	ms=$(sed -n 's/.*probe.blk_ms=\([0-9]*\).*/\1/p' "$d/commands" | head -n 1)
	echo "\`bench/blk.sh\`: \`probe.action=blk\` on a 1 GiB raw data disk (a file on the"
	echo "host's ext4, written once before the runs). The probe writes $mib MiB from"
	echo "sector 0 in requests of up to 64 KiB, 16 in flight, flushes, reads them"
	echo "back and checks them (MB/s of the device time, 10^6 bytes), then 4 KiB"
	echo "random reads and writes over the last 8 MiB of them, 16 in flight, for"
	echo "$ms ms each (IOPS). Not the whole GiB: the probe fills and checks its"
	echo "buffers in emulated guest kernel code, about 0.3 s a MiB here, outside the"
	echo "timed device passes. The working set: petrel's"
	echo "\`cache_type: Writeback\` (the host page cache, FLUSH → fdatasync) with each"
	echo "\`io_engine\`, against QEMU \`aio=io_uring,cache=writeback\` (the same"
	echo "semantics; the ratios are against it), and QEMU \`aio=io_uring,cache=none\`"
	echo "(O_DIRECT) for reference. Every guest figure is bounded by the guest: the"
	echo "probe's driver runs in guest kernel mode, which this host's KVM emulates"
	echo "instruction by instruction, so building requests and polling the used"
	echo "ring take most of the time, not the monitors (see *Devices* below for the"
	echo "host's own figures on the same kind of file)."
	when
	echo
	echo "| measure (higher is better) | petrel Sync | petrel Async | QEMU io_uring, writeback | QEMU io_uring, none | Sync / QEMU | Async / QEMU |"
	echo "|---|---|---|---|---|---|---|"
	for m in seq-write:1:"sequential write, MB/s" seq-read:1:"sequential read, MB/s" \
		 rand-read:0:"4 KiB random read, IOPS" rand-write:0:"4 KiB random write, IOPS"; do
		label=${m##*:} dig=${m#*:} m=${m%%:*}
		dig=${dig%%:*}
		echo "| $label | $(cell "petrel-sync.$m" 1 "$dig") | $(cell "petrel-async.$m" 1 "$dig") |" \
			"$(cell "qemu-writeback.$m" 1 "$dig") | $(cell "qemu-none.$m" 1 "$dig") |" \
			"**$(ratio "petrel-sync.$m" "qemu-writeback.$m")** | **$(ratio "petrel-async.$m" "qemu-writeback.$m")** |"
		for e in sync async; do
			echo "| Block | $label, ${e^} (QEMU: io_uring, writeback) |" \
				"$(fmt "$(median "petrel-$e.$m")" 1 "$dig") | $(fmt "$(median "qemu-writeback.$m")" 1 "$dig") |" \
				"**$(ratio "petrel-$e.$m" "qemu-writeback.$m")** |" >> "$tmp/summary"
		done
	done
	echo
	echo "Cells are min / median / p90 over $(count petrel-sync.seq-write), $(count petrel-async.seq-write),"
	echo "$(count qemu-writeback.seq-write) and $(count qemu-none.seq-write) runs."
	[ ! -s "$d/errors" ] || { echo "Runs without \`probe: blk verify ok\`:"; sed 's/^/- /' "$d/errors"; }
	echo
	echo "QEMU's \`-drive\` \`aio\`/\`cache\` pairs, tried on this file before the runs:"
	echo
	sed 's/^\([^ ]*\) ok$/- `\1`: starts/; s/^\([^ ]*\) fails: \(.*\)/- `\1`: **refused**: "\2"/' "$d/qemu-options"
	commands
	echo
	for m in seq-write:"sequential write (MB/s)" seq-read:"sequential read (MB/s)" \
		 rand-read:"4 KiB random read (IOPS)" rand-write:"4 KiB random write (IOPS)"; do
		panel "${m#*:}" 1 "petrel Sync" "petrel Async" "QEMU io_uring writeback" "QEMU io_uring none"
		bar "" "petrel-sync.${m%%:*}" "petrel-async.${m%%:*}" "qemu-writeback.${m%%:*}" "qemu-none.${m%%:*}"
	done
	draw blk "Block: petrel beside QEMU microvm"
	echo
}

net() {
	results net Net || return 0
	section=Net
	echo "## 6. Net"
	echo
	echo "\`bench/net.sh\`: \`probe.action=net\` on a tap in a network namespace of the"
	echo "script's own; petrel's virtio-net beside QEMU's \`virtio-net-device\` on"
	echo "\`-netdev tap,vhost=off\` (petrel has no vhost). The probe sends"
	echo "$(sed -n 's/.*probe.net_count=\([0-9]*\).*/\1/p' "$d/commands" | head -n 1) frames of 1514 bytes (guest → host;"
	echo "\`net_peer.py recv\` counts them on the tap), then receives as many sent"
	echo "by \`net_peer.py send\` (host → guest); frames/s and MB/s (10^6 bytes) are"
	echo "counted in the guest. No offloads, one frame per buffer; the probe's"
	echo "driver runs in emulated guest kernel mode here, so it sets most of the pace."
	when
	echo
	table_head "measure (higher is better)"
	row "guest → host, frames/s" petrel.tx-fps qemu.tx-fps 1 0
	row "guest → host, MB/s" petrel.tx-mbps qemu.tx-mbps 1 1
	row "host → guest, frames/s" petrel.rx-fps qemu.rx-fps 1 0
	row "host → guest, MB/s" petrel.rx-mbps qemu.rx-mbps 1 1
	row "guest → host, frames the host got" petrel.host-rx-frames qemu.host-rx-frames 1 0
	row "host → guest, frames the guest got" petrel.rx-frames qemu.rx-frames 1 0
	commands
	echo
	panel "frames per second" 1 petrel "QEMU microvm"
	bar "guest → host" petrel.tx-fps qemu.tx-fps
	bar "host → guest" petrel.rx-fps qemu.rx-fps
	panel "MB/s" 1 petrel "QEMU microvm"
	bar "guest → host" petrel.tx-mbps qemu.tx-mbps
	bar "host → guest" petrel.rx-mbps qemu.rx-mbps
	draw net "Net over a tap: petrel beside QEMU microvm"
	echo
}

devices() {
	results devices Devices || return 0
	echo "## 7. Devices: the host's own figures beside the guests'"
	echo
	echo "\`bench/devices.sh\` (root: the tap lives in a network namespace the script"
	echo "makes; \`BLK_MIB=\` and \`NET_FRAMES=\` change the sizes) runs, in turn, the"
	echo "probe's \`probe.action=blk\` on petrel with each \`io_engine\`, on QEMU"
	echo "\`microvm\` (its default \`cache=writeback\`, \`aio=threads\`) and the host's"
	echo "own \`dd\` and \`fio\` on the same image file, then \`probe.action=net\` on"
	echo "petrel and QEMU over the same tap, with \`tests/guest/probe/net_peer.py\` as"
	echo "the host's end. Medians first, then each run. $(when)"
	echo
	echo "How to read them:"
	echo
	echo "- Every guest figure is bounded by the guest, not the monitor: the probe runs"
	echo "  in guest kernel mode, which this host's \`kvm_pvm\` emulates instruction by"
	echo "  instruction, so building requests, polling the used ring and the per-frame"
	echo "  checksums are what take the time. The host rows show how far below the"
	echo "  host's own ceiling that is; they are not what petrel costs on hardware."
	echo "- petrel opens the drive without \`O_DIRECT\` (as QEMU's default does): the"
	echo "  \"host, page cache\" rows are the comparable ceiling, the \"O_DIRECT\" rows the"
	echo "  disk under the file (a virtual disk here)."
	echo "- \"host rx\" is the peer's rate from its first frame to its last, a little"
	echo "  above \"guest tx\" (the probe fills its first tx batch before a frame"
	echo "  leaves). \"host tx\" is how fast the peer writes frames into the tap's queue"
	echo "  (deep enough that none are dropped); the guest then drains it at its rx rate."
	echo
	cat "$d/tables.md"
	[ -s "$d/tables.md" ] || echo "$d/tables.md" >> "$tmp/missing"
	echo
}

sandbox() {
	results sandbox Sandbox || return 0
	echo "## 8. Sandbox: what the seccomp filters cost at boot"
	echo
	echo "\`bench/sandbox.sh\` on this host: the probe guest (1 vCPU, 128 MiB),"
	echo "process exec → \`probe: hello\`, petrel with its built-in filters beside"
	echo "\`--no-seccomp\`, runs interleaved, and what compiling the three filters"
	echo "(api, vmm, vcpu) takes at startup, from petrel's debug log. Nearly all of"
	echo "the difference is libseccomp compiling the filters before any thread"
	echo "starts; each thread's install is two syscalls. $(when)"
	echo
	cat "$d/tables.md"
	[ -s "$d/tables.md" ] || echo "$d/tables.md" >> "$tmp/missing"
	echo
}

mmds() {
	results mmds MMDS || return 0
	echo "## 12. MMDS: a guest's GET to the metadata service"
	echo
	echo "\`bench/mmds.sh\`: the probe's HTTP client (\`probe.action=mmds\`, its bench step)"
	echo "GETs one value over and over on one keep-alive connection, through virtio-net"
	echo "to petrel's MMDS endpoint; V2 sends its token with every GET. Counted in the"
	echo "guest. petrel alone: QEMU has no metadata service. On kvm_pvm the probe's"
	echo "own code (ring 0) is emulated, so its ARP/TCP/HTTP client dominates the"
	echo "round trip here; petrel's side of a request is tens of microseconds (strace"
	echo "-T of the vmm thread, by hand: a transmit kick to the answer queued, 40-60 µs). $(when)"
	echo
	cat "$d/tables.md"
	[ -s "$d/tables.md" ] || echo "$d/tables.md" >> "$tmp/missing"
	echo
}

balloon() {
	results balloon Balloon || return 0
	section=Balloon
	echo "## 14. Balloon: memory given back to the host"
	echo
	echo "\`bench/balloon.sh\`: the probe's virtio-balloon driver (\`probe.action=balloon\`;"
	echo "1 vCPU, 256 MiB) first writes every page of a 128 MiB pool, so that the"
	echo "monitor holds them. Inflate: petrel's \`PATCH /balloon {\"amount_mib\": 64}\`"
	echo "beside QEMU's \`virtio-balloon-device\` and QMP \`balloon\` to 192 MiB; the time is"
	echo "from the request to the probe's \`balloon actual=16384\` line on the console"
	echo "(64 batches of 256 PFNs, each kicked and waited for; the probe looks at the"
	echo "target every 5 ms), the drop the monitor's VmRSS before and after. Free page"
	echo "reporting: the probe reports the pool's last 64 MiB as free, a 2 MiB range a"
	echo "buffer as Linux does, one at a time; the time is the probe's own (TSC), the"
	echo "drop VmRSS before and after. Both monitors give the pages back with"
	echo "\`MADV_DONTNEED\` as the guest hands them over; the times are mostly the"
	echo "guest's, whose ring-0 code this host's \`kvm_pvm\` emulates. QEMU asks for"
	echo "transparent huge pages on guest RAM (\`MADV_HUGEPAGE\`; the pool is in 2 MiB"
	echo "pages there, 134 MiB of \`AnonHugePages\` at \`balloon ready\`), petrel does not:"
	echo "a reported 2 MiB range is one huge page for QEMU to drop and 512 small ones"
	echo "for petrel, most of the difference in reporting time. $(when)"
	echo
	table_head "measure"
	row "inflate 64 MiB, ms" petrel.inflate-us qemu.inflate-us 1000 1
	row "inflate 64 MiB, RSS drop, MiB" petrel.inflate-drop-kib qemu.inflate-drop-kib 1024 1 nosum
	row "report 64 MiB free, ms" petrel.report-us qemu.report-us 1000 1
	row "report 64 MiB free, RSS drop, MiB" petrel.report-drop-kib qemu.report-drop-kib 1024 1 nosum
	commands
	echo
}

snapshot() {
	local n
	results snapshot Snapshots || return 0
	section=Snapshots
	echo "## 9. Snapshots"
	echo
	echo "\`bench/snapshot.sh\`: the probe counting ticks (1 vCPU, 128 MiB), paused just"
	echo "after its third. petrel: \`PUT /snapshot/create\` (Full; a Diff two ticks later,"
	echo "with dirty page tracking) and \`PUT /snapshot/load\` with the File backend and"
	echo "\`resume_vm\` in a fresh petrel. QEMU: QMP \`stop\`, then \`migrate\` to"
	echo "\`exec:cat > FILE\`, restored with \`-incoming defer\` and \`migrate-incoming\`"
	echo "(then \`cont\`: a stopped source's guest arrives paused); its fast path keeps guest"
	echo "RAM in a \`memory-backend-file\` with \`share=on\` and \`x-ignore-shared\`, so the"
	echo "stream holds no RAM (the rows marked shared RAM). Restore is request"
	echo "→ answer for petrel, \`migrate-incoming\` → QMP says running for QEMU. Sizes are"
	echo "the state and memory files together (QEMU shared: the stream and the RAM file)."
	echo "Uffd restore with prefetch needs a Linux guest, so the test host VM: section 10."
	when
	echo
	table_head "measure"
	row "restore: load → answer, ms (lower is better)" petrel.restore qemu.restore 1000 2
	row "restore: exec → answer, ms (lower is better)" petrel.exec-answer qemu.exec-answer 1000 2
	row "restore: exec → next tick line, ms (lower is better)" petrel.exec-tick qemu.exec-tick 1000 2
	row "restore, QEMU shared RAM: load → answer, ms" petrel.restore qemu-shared.restore 1000 2
	row "restore, QEMU shared RAM: exec → next tick line, ms" petrel.exec-tick qemu-shared.exec-tick 1000 2
	row "create Full, ms (lower is better)" petrel.create-full qemu.create 1000 2
	row "create Diff (QEMU: shared RAM), ms" petrel.create-diff qemu-shared.create 1000 2 nosum
	row "Full: files' size, MB" petrel.size-full qemu.size-full 1000000 2 nosum
	row "Full: on disk, MB (lower is better)" petrel.disk-full qemu.disk-full 1000000 2
	row "Diff (QEMU: shared RAM): on disk, MB" petrel.disk-diff qemu-shared.disk-full 1000000 2 nosum
	echo
	echo "Clones: N copies of one snapshot started at once by \`bench/clones\` (petrel: each"
	echo "its own API socket and load, the memory file mapped private and shared through"
	echo "the page cache; QEMU: each \`-incoming\` of a live migration's stream into"
	echo "private RAM): exec of the first → every clone's next tick line, clones per second,"
	echo "and each clone's PSS from \`/proc/PID/smaps_rollup\` (shared pages split among"
	echo "their users), once for each N."
	[ ! -s "$d/skipped" ] || sed 's/^/- /' "$d/skipped"
	echo
	table_head "measure"
	for n in $(cat "$d/counts"); do
		[ -s "$d/petrel.$n.all" ] || [ -s "$d/qemu.$n.all" ] || continue
		row "N=$n: exec → all next tick, s (lower is better)" "petrel.$n.all" "$( [ -s "$d/qemu.$n.all" ] && echo "qemu.$n.all")" 1000000 2
		row "N=$n: clones per second (higher is better)" "petrel.$n.rate" "$( [ -s "$d/qemu.$n.rate" ] && echo "qemu.$n.rate")" 1 0
		row "N=$n: PSS per clone (median), MiB (lower is better)" "petrel.$n.pss" "$( [ -s "$d/qemu.$n.pss" ] && echo "qemu.$n.pss")" 1024 2
		row "N=$n: clones that failed" "petrel.$n.failed" "$( [ -s "$d/qemu.$n.failed" ] && echo "qemu.$n.failed")" 1 0 nosum
	done
	commands
	echo
}

# mode_row LABEL FILE DIV DIGITS: a row of one figure, min / median / p90 and runs.
mode_row() {
	echo "| $1 | $(cell "$2" "$3" "$4") | $(count "$2") |"
}

uffd() {
	results uffd "Uffd restore of a Linux guest" || return 0
	echo "## 10. Uffd restore of a Linux guest"
	echo
	echo "\`bench/uffd-linux.sh\`, in the test host VM: the micro kernel (1 vCPU, 128 MiB,"
	echo "its root drive) booted to its shell and snapshotted there (Full), then"
	echo "restored by a fresh petrel each time: \`PUT /snapshot/load\` with \`resume_vm\`,"
	echo "then \`echo ready\` typed on its console; the time is from the load request to"
	echo "the shell's \`ready\` line (\`bench/apiclient answer\`). The memory comes from"
	echo "the File backend, or the Uffd backend served by \`petrel-uffd-handler\`: on"
	echo "demand (plain), with \`--record\` (the first restore, once per test host VM),"
	echo "and with \`--prefetch\` of the pages that recording listed. Runs interleaved"
	echo "File, plain, prefetch. Faults are those the handler says it served, from the"
	echo "load until the VM ends right after the answer."
	echo "Times inside the test host VM are inflated by its emulation (each fault is a"
	echo "round trip through an emulated L1 kernel): compare the modes with each other"
	echo "only. QEMU's counterpart, postcopy migration, needs a second QEMU and a"
	echo "migration stream for each restore: not measured here."
	echo "L1 ran Debian's cloud kernel $(sed -n 's/^l1-kernel //p' "$d/versions" 2>/dev/null)."
	when
	echo
	echo "| measure | min / median / p90 | runs |"
	echo "|---|---|---|"
	mode_row "File: load → API answer, ms" file.load 1000 2
	mode_row "File: load → shell's answer, ms" file.answer 1000 2
	mode_row "Uffd on demand: load → API answer, ms" plain.load 1000 2
	mode_row "Uffd on demand: load → shell's answer, ms" plain.answer 1000 2
	mode_row "Uffd on demand: faults served" plain.faults 1 0
	mode_row "Uffd --record: load → shell's answer, ms" record.answer 1000 2
	mode_row "Uffd --record: faults served (pages recorded)" record.faults 1 0
	mode_row "Uffd --prefetch: load → API answer, ms" prefetch.load 1000 2
	mode_row "Uffd --prefetch: load → shell's answer, ms" prefetch.answer 1000 2
	mode_row "Uffd --prefetch: pages prefetched" prefetch.prefetched 1 0
	mode_row "Uffd --prefetch: faults still served on demand" prefetch.faults 1 0
	echo
	echo "Ratios of the medians, load → shell's answer:"
	echo
	echo "- prefetch / plain: **$(ratio prefetch.answer plain.answer)**"
	echo "- plain / File: $(ratio plain.answer file.answer); prefetch / File: $(ratio prefetch.answer file.answer)"
	echo "- faults served on demand, prefetch / plain: $(ratio prefetch.faults plain.faults)"
	echo
	echo "With \`--prefetch\` the load itself answers later than on demand: it waits for"
	echo "the handler, which installs the whole list before it serves any fault."
	commands
	echo
}

# tl_segments MODE: per run, each phase's time since the phase before (µs),
# a phase the mode lacks (file: no API socket) taking none; into $tmp/MODE.seg.N.
tl_segments() {
	local m=$1 p files=() i=0
	for p in $(cat "$d/phases"); do
		if [ -s "$d/$m.$p" ]; then files+=("$d/$m.$p"); else files+=(/dev/null); fi
	done
	paste "${files[@]}" | awk -F '\t' -v t="$tmp/$m.seg." '
		NF { prev = 0
		     for (i = 1; i <= '"${#files[@]}"'; i++) {
			v = $i == "" ? prev : $i
			print v - prev >> (t i); prev = v } }'
}

# Section 11 has two parts, the probe on this host (bench/timeline.sh) and the
# Linux guests in the test host VM (bench/linux-timeline.sh): a part whose
# benchmark did not run stays as the page had it.
timeline() {
	if [ ! -d "$res/timeline" ] && [ ! -d "$res/linux-timeline" ]; then
		kept "Boot timeline"
		return 0
	fi
	echo "## 11. Boot timeline"
	echo
	if [ -d "$res/timeline" ]; then
		d=$res/timeline
		timeline_probe
	else
		tl_kept probe
	fi
	if [ -d "$res/linux-timeline" ]; then
		d=$res/linux-timeline
		timeline_linux
	else
		tl_kept linux
	fi
}

# tl_kept probe|linux: that part of the page's section 11 (without its heading).
tl_kept() {
	awk -v part="$1" '
		/^## / { in11 = $0 ~ /^## [0-9]+[.] Boot timeline/; linux = 0; seen = 0; next }
		/^### Linux guests in the test host VM/ { linux = 1 }
		in11 && (linux == (part == "linux")) && (seen || NF) { seen = 1; print }' "$tmp/old"
}

timeline_probe() {
	local m i p n label
	echo "\`bench/timeline.sh\`: where petrel's own boot time goes, from its boot"
	echo "timeline (docs/api.md), over boots of the probe (1 vCPU, 128 MiB) on this host:"
	echo "with \`--config-file\` (the VM builds at once), and through the API (curl sends"
	echo "\`/boot-source\`, \`/metrics\`, then InstanceStart; the time from the socket to"
	echo "InstanceStart is the client's). Each phase is the median over the runs of its"
	echo "time since the phase before; the bar stacks them. \`boot_timer\` is the guest's"
	echo "boot timer write, \`first_console_output\` its first byte to COM1. On a"
	echo "PVM-based \`/dev/kvm\` the probe's own code runs partly emulated, which"
	echo "inflates the guest's part (first KVM_RUN to the boot timer), not petrel's."
	when
	echo
	n=$(wc -w < "$d/phases")
	for m in file api; do tl_segments "$m"; done
	echo "| phase | config file: since start, ms | its own, ms | API: since start, ms | its own, ms |"
	echo "|---|---|---|---|---|"
	i=0
	for p in $(cat "$d/phases"); do
		i=$((i + 1))
		echo "| \`$p\` | $(cell "$( [ -s "$d/file.$p" ] && echo "file.$p")" 1000 2) | $(cell "$tmp/file.seg.$i" 1000 2) | $(cell "api.$p" 1000 2) | $(cell "$tmp/api.seg.$i" 1000 2) |"
	done
	echo
	echo "(min / median / p90 each.) The QEMU column of the other sections has no"
	echo "counterpart here: QEMU gives no such breakdown."
	echo
	{
		printf 'mode'
		for p in $(cat "$d/phases"); do printf ' %s' "$p"; done
		echo
		for m in file api; do
			[ "$m" = file ] && label='"config file"' || label='"API (curl)"'
			printf '%s' "$label"
			for i in $(seq "$n"); do
				printf ' %s' "$(fmt "$(median "$tmp/$m.seg.$i")" 1000 3)"
			done
			echo
		done
	} > "$tmp/timeline.dat"
	sed -i 's/ –/ 0/g' "$tmp/timeline.dat"
	cat > "$tmp/timeline.gp" <<GP
set terminal pngcairo noenhanced size 720,420 font 'sans,10'
set output '$charts/timeline.png'
set title "Boot timeline: where petrel's boot goes (medians, ms since the phase before)"
set style data histogram
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.5
set yrange [0:*]
set ylabel "ms since process start"
set grid ytics
set key outside right invert
plot for [i=2:$((n + 1))] '$tmp/timeline.dat' using i:xtic(1) title columnheader(i)
GP
	gnuplot "$tmp/timeline.gp"
	echo "![Boot timeline](benchmarks/timeline.png)"
	commands
	echo
}

# The Linux guests of bench/linux-timeline.sh, with the short names of their bars.
tl_guests() {
	local g
	for g in micro-vmlinux micro-bzImage stock-vmlinuz; do
		[ -s "$d/$g.runs" ] || continue
		case "$g" in
		micro-vmlinux) echo "$g \"micro (PVH)\"" ;;
		micro-bzImage) echo "$g \"micro (bzImage)\"" ;;
		*) echo "$g \"stock\"" ;;
		esac
	done
}

# tl_dat FIRST LAST DIV: a row a guest, its phases FIRST to LAST (indices in
# $d/phases) as medians of their own times (segments), then the stack's
# height and the label above it, the median of LAST since start.
tl_dat() {
	local g label i p top med
	while read -r g label; do
		printf '%s' "$label"
		top=0
		for i in $(seq "$1" "$2"); do
			med=$(median "$tmp/$g.seg.$i")
			isnum "$med" || med=0
			printf ' %s' "$(fmt "$med" "$3" 3)"
			top=$(awk -v t="$top" -v m="$med" 'BEGIN { printf "%.1f", t + m }')
		done
		p=$(cut -d' ' -f"$2" "$d/phases")
		med=$(median "$g.$p")
		printf ' %s "%s"\n' "$(fmt "$top" "$3" 3)" "$(fmt "$med" "$3" $(($3 > 1000 ? 2 : 1)))"
	done < <(tl_guests)
}

timeline_linux() {
	local g label i p n row head sep f
	echo "### Linux guests in the test host VM"
	echo
	echo "\`bench/linux-timeline.sh\`: the same timeline for Linux, inside the test host"
	echo "VM (L1: QEMU TCG, \`-cpu max -smp 1\`, $(sed -n 's/^l1-kernel //p' "$d/versions" 2>/dev/null), real"
	echo "KVM): each kernel booted by petrel with \`--no-api --boot-timer\` (1 vCPU,"
	echo "256 MiB, a busybox initramfs whose init writes the boot timer and powers"
	echo "off), its timeline read from the last metrics line (\`boot_timeline\`)."
	echo "micro-vmlinux boots through PVH, micro-bzImage through the 64-bit boot"
	echo "protocol (its decompressor runs in the guest, after the first KVM_RUN),"
	echo "stock-vmlinuz is Debian's cloud kernel$(sed -n 's/^stock \(.*\)/ \1/p' "$d/versions" 2>/dev/null)"
	echo "(bzImage, LZ4). The images are in L1's page cache. L1 runs under"
	echo "QEMU's software emulation, so every absolute time here is many times what"
	echo "it is on hardware, petrel's phases as well as the guest's (each byte the"
	echo "guest writes to the serial console is a nested exit): the split between"
	echo "the phases is the point, not the totals. \`first_console_output\` is the"
	echo "kernel's first byte to COM1 (its console comes up part way through its"
	echo "boot), \`boot_timer\` the init's write, in userspace. petrel's"
	echo "\`kernel_loaded\` is reading the kernel and initrd files and copying them"
	echo "into guest memory: it grows with their size (micro-vmlinux 17.5 MB,"
	echo "micro-bzImage 2.4 MB, stock-vmlinuz 14.2 MB and its initrd 1.2 MB)."
	when
	echo
	n=$(wc -w < "$d/phases")
	head="| phase |" sep="|---|"
	while read -r g label; do
		tl_segments "$g"
		head+=" $g: since start, ms | its own, ms |"
		sep+="---|---|"
	done < <(tl_guests)
	echo "$head"
	echo "$sep"
	i=0
	for p in $(cat "$d/phases"); do
		i=$((i + 1))
		row="| \`$p\` |"
		while read -r g label; do
			row+=" $(cell "$g.$p" 1000 1) | $(cell "$tmp/$g.seg.$i" 1000 1) |"
		done < <(tl_guests)
		echo "$row"
	done
	echo
	echo "(min / median / p90 each.) petrel's own part, from process start to the"
	echo "first KVM_RUN, beside the whole boot (medians):"
	echo
	while read -r g label; do
		f=$(median "$g.first_kvm_run")
		p=$(median "$g.boot_timer")
		isnum "$f" && isnum "$p" || continue
		echo "- $g: $(fmt "$f" 1000 1) ms of $(fmt "$p" 1000000 2) s," \
			"$(awk -v f="$f" -v p="$p" 'BEGIN { printf "%.1f", 100 * f / p }') %"
	done < <(tl_guests)
	echo
	# The stack's first phase: instance_start (the 2nd linetype, as in the probe's chart,
	# whose first is api_socket_ready); petrel's part ends at first_kvm_run.
	f=$(tr ' ' '\n' < "$d/phases" | grep -nx first_kvm_run | cut -d: -f1)
	tl_dat 1 "$n" 1000000 > "$tmp/tl-linux-all.dat"
	tl_dat 1 "$f" 1000 > "$tmp/tl-linux-vmm.dat"
	{
		printf 'guest'
		for p in $(cat "$d/phases"); do printf ' %s' "$p"; done
		echo ' top total'
		cat "$tmp/tl-linux-all.dat"
	} > "$tmp/tl-all.dat"
	{
		printf 'guest'
		for p in $(tr ' ' '\n' < "$d/phases" | head -n "$f"); do printf ' %s' "$p"; done
		echo ' top total'
		cat "$tmp/tl-linux-vmm.dat"
	} > "$tmp/tl-vmm.dat"
	cat > "$tmp/tl-linux.gp" <<GP
set terminal pngcairo noenhanced size 960,440 font 'sans,10'
set output '$charts/timeline-linux.png'
set multiplot layout 1,2 title "Boot timeline of Linux in the test host VM (TCG): medians of each phase's own time, the median total above"
set style data histogram
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.5
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set grid ytics
set key below autotitle columnheader
set title "the whole boot, s since process start"
plot for [i=2:$((n + 1))] '$tmp/tl-all.dat' using i:xtic(1) title columnheader(i) lt i, \\
     '' using 0:$((n + 2)):$((n + 3)) with labels offset 0,0.8 notitle
set title "petrel's part, to the first KVM_RUN, ms"
plot for [i=2:$((f + 1))] '$tmp/tl-vmm.dat' using i:xtic(1) title columnheader(i) lt i, \\
     '' using 0:$((f + 2)):$((f + 3)) with labels offset 0,0.8 notitle
unset multiplot
GP
	gnuplot "$tmp/tl-linux.gp"
	echo "Each bar stacks the medians of the phases' own times; the figure above it is"
	echo "the median of its last phase since process start (from the same boots, it"
	echo "need not equal the stack's height)."
	echo
	echo "![Boot timeline of Linux in the test host VM](benchmarks/timeline-linux.png)"
	commands
	echo
}

# --- the page -------------------------------------------------------------------

kvm_note() {
	if [ "$(info kvm)" = kvm_pvm ]; then
		cat <<EOF
- This machine's \`/dev/kvm\` comes from \`kvm_pvm\` (nested, pagetable-based):
  guest user-mode code runs natively, guest kernel-mode code is emulated,
  about 0.5 µs an instruction. The probe guest runs in kernel mode, so all it
  does (its boot, its virtio drivers, the block and network loops) runs far
  slower than on hardware, and no Linux kernel boots here at all.
EOF
	else
		echo "- This machine's \`/dev/kvm\` comes from \`$(info kvm)\`."
	fi
}

# The Linux guests' versions are known only where they were built, L1's only
# after a linux run: otherwise the page's rows stay.
guests_row() {
	if [ -z "$(info micro)" ] && [ -z "$(info stock)" ] && old_row guests; then
		return 0
	fi
	echo "| guests | probe (\`tests/guest/probe\`, the section's commit); micro: Linux $(info micro) (Debian's \`linux-source-6.1\`, the project's config); stock: Debian's cloud kernel $(info stock) |"
}

hostvm_row() {
	if [ ! -f "$res/linux/versions" ] && old_row "test host VM"; then
		return 0
	fi
	echo "| test host VM | L1: Debian's cloud kernel $(sed -n 's/^l1-kernel //p' "$res/linux/versions" 2>/dev/null || echo "(not run)"), the same QEMU inside |"
}

intro() {
	cat <<EOF
# petrel benchmarks

<!-- Written by bench/run.sh (bench/report.sh): change the scripts, not this page. -->

Every figure here comes from \`bench/run.sh\`, which runs petrel and QEMU's
\`microvm\` machine side by side (interleaved, in the same run, on the same
guest and host) and writes this page and its charts. They are measurements,
not test assertions. Each figure is min / median / p90 over the runs; the
ratio is petrel's median over QEMU's: below 1 is better for times, memory
and sizes, above 1 for rates.

How to read them:

$(kvm_note)
- Linux guests are therefore measured inside the test host VM
  (\`tests/hostvm\`): an L1 Linux under QEMU's software emulation (TCG,
  \`-cpu max\`) with real KVM inside. Everything there is inflated by the
  emulation: compare the ratio, not the absolute times.
- Other work shares the machine (each section gives the load average at its
  start and end), so spreads are wide; the ratios of medians are the figures
  to quote.

## Machine and versions

| | |
|---|---|
| CPU | $(info cpu), $(info cores) cores |
| memory | $(info memory) |
| OS, kernel | $(info os), Linux $(info kernel) |
| \`/dev/kvm\` | $(info kvm) |
| petrel | $(info petrel) (the latest run; each section names the commit it measured) |
| QEMU | $(info qemu) (Debian package \`qemu-system-x86\` $(info qemu-package)) |
$(guests_row)
$(hostvm_row)

## Running them

\`\`\`
bench/run.sh                         # everything, 10 runs each (about an hour here); root
bench/run.sh --only boot,memory      # some; the others' last results stay on the page
bench/run.sh --runs 20 --density 50,100
bench/run.sh --smoke                 # one run of each, small sizes, into build/bench/smoke/
\`\`\`

Raw samples land in \`build/bench/results/BENCHMARK/\` (one number a line,
µs, KiB or the unit the probe prints); \`bench/report.sh RESULTS PAGE\` writes
this page again from them.
EOF
}

vsock() {
	results vsock vsock || return 0
	echo "## 13. vsock"
	echo
	echo "\`bench/vsock.sh\`: the probe's vsock driver on petrel (1 vCPU, 128 MiB), the"
	echo "host's end \`tests/guest/probe/vsock_peer.py\`. Host → guest: the guest sinks"
	echo "what the host writes after its \`CONNECT\`, timed by the host until the guest"
	echo "closes; guest → host: the guest connects to \`<uds_path>_5000\` and sends,"
	echo "timed by the host's reader. Connections per second: \`CONNECT\` → \`OK\` →"
	echo "close, one after another. The probe runs in guest kernel mode, which this"
	echo "host's \`kvm_pvm\` emulates: the figures are the probe's, not the device's"
	echo "ceiling. $(when)"
	echo
	cat "$d/tables.md"
	[ -s "$d/tables.md" ] || echo "$d/tables.md" >> "$tmp/missing"
	commands
	echo
}

# allowed MIBPS: what a pass of MiB may reach in MB/s: the bucket (an eighth
# of the rate) at once, the rest at the rate.
allowed() {
	awk -v r="$1" -v m="$(cat "$d/mib")" 'BEGIN { printf "%.2f", r * 1.048576 * m / (m - r / 8) }'
}

# ratelimit_row LABEL NAME MIBPS: the achieved rate (write, read) beside the one allowed.
ratelimit_row() {
	local set_mb=– max=–
	if [ -n "$3" ]; then
		set_mb=$(awk -v r="$3" 'BEGIN { printf "%.2f", r * 1.048576 }')
		max=$(allowed "$3")
	fi
	echo "| $1 | $set_mb | $max | $(cell "$2.seq-write" 1 1) | $(cell "$2.seq-read" 1 1) | $(count "$2.seq-write") |"
}

# achieved NAME MIBPS: the median write and read rates over the ones allowed.
achieved() {
	local w r
	w=$(median "$1.seq-write") r=$(median "$1.seq-read")
	isnum "$w" && isnum "$r" || { echo "–"; return; }
	awk -v w="$w" -v r="$r" -v a="$(allowed "$2")" 'BEGIN { printf "write %.2f, read %.2f", w / a, r / a }'
}

ratelimit() {
	local r
	results ratelimit "Rate limiters" || return 0
	echo "## 15. Rate limiters"
	echo
	echo "\`bench/ratelimit.sh\`: \`probe.action=blk\` (io_engine \`Sync\`, \`Writeback\`) writes"
	echo "$(cat "$d/mib") MiB and reads them back, its own TSC timing the passes (MB/s, 10^6 bytes),"
	echo "runs interleaved: no \`rate_limiter\`; one configured but never empty (1 TiB and"
	echo "10^9 requests a second: what having a limiter costs, which should be nothing);"
	echo "and bandwidth buckets of $(sed 's/ /, /g' "$d/rates") MiB/s (an eighth of the rate,"
	echo "refilled every 125 ms, so the bucket's first fill is small beside the data)."
	echo "\"Allowed\" is what the bucket permits over a pass: its first fill at once, the rest"
	echo "at the rate set. A pass is one window of the probe's buffer (at most 8 MiB): its"
	echo "clock stops between windows, while the bucket would go on refilling. Where the"
	echo "rate set nears what the device does unlimited, the achieved one falls below it."
	when
	echo
	echo "| rate_limiter | set, MB/s | allowed, MB/s | write MB/s min / median / p90 | read MB/s min / median / p90 | runs |"
	echo "|---|---|---|---|---|---|"
	ratelimit_row "none" none ""
	ratelimit_row "configured, never empty" idle ""
	for r in $(cat "$d/rates"); do
		ratelimit_row "$r MiB/s" "$r" "$r"
	done
	echo
	echo "- never-empty limiter / none, write: **$(ratio idle.seq-write none.seq-write)**, read: $(ratio idle.seq-read none.seq-read)"
	echo "  (read it against the spread of the unlimited runs, min to p90: the noise here)"
	for r in $(cat "$d/rates"); do
		echo "- $r MiB/s: achieved / allowed (medians): $(achieved "$r" "$r")"
	done
	echo
	[ ! -s "$d/errors" ] || { echo "Runs without \`probe: blk verify ok\`:"; sed 's/^/- /' "$d/errors"; echo; }
	commands
}

kernelload() {
	results kernelload "Kernel load" || return 0
	echo "## 16. Kernel load: the kernel_loaded phase alone"
	echo
	echo "\`bench/kernelload.sh\` on this host, no vCPU (its KVM cannot boot Linux):"
	echo "\`boot_load_kernel()\` then \`boot_load_initrd()\` into fresh anonymous guest"
	echo "memory (512 MiB), as an InstanceStart does, for the micro vmlinux (ELF, PVH),"
	echo "the micro bzImage and the stock kernel (bzImage), each with a 64 MiB initrd"
	echo "of random bytes. Before: the loaders of $(sed -n 's/^commit //p' "$d/baseline" 2>/dev/null),"
	echo "which read each file whole into the heap and then copied it into guest"
	echo "memory; after: each ELF segment, the bzImage's protected-mode code and the"
	echo "initrd read with \`pread\` straight into their place, the headers and notes"
	echo "alone read apart. Runs interleave the two; cold drops the page cache"
	echo "before each run, warm reads the files just before. The heap buffer's"
	echo "page faults and second copy are what is saved (a vmlinux's symbols and"
	echo "debug sections are not read at all now); what is left is mostly faulting"
	echo "in the guest's 4 KiB pages as the data lands. This host's disk is virtual"
	echo "and its host caches it, so cold is little slower than warm here."
	echo "\`posix_fadvise\` (\`SEQUENTIAL\`, or \`WILLNEED\` on the whole file) won nothing"
	echo "in cold runs (medians within ±1.5 ms on the kernels, 1-4 ms slower on the"
	echo "initrd) and is not used. $(when)"
	echo
	cat "$d/tables.md"
	[ -s "$d/tables.md" ] || echo "$d/tables.md" >> "$tmp/missing"
	commands
	echo
}

{
	intro
	echo
	boot > "$tmp/boot"
	api > "$tmp/api"
	memory > "$tmp/memory"
	density > "$tmp/density"
	blk > "$tmp/blk"
	net > "$tmp/net"
	devices > "$tmp/devices"
	sandbox > "$tmp/sandbox"
	snapshot > "$tmp/snapshot"
	uffd > "$tmp/uffd"
	timeline > "$tmp/timeline"
	mmds > "$tmp/mmds"
	vsock > "$tmp/vsock"
	balloon > "$tmp/balloon"
	ratelimit > "$tmp/ratelimit"
	kernelload > "$tmp/kernelload"
	echo "## Summary: petrel / QEMU microvm (medians)"
	echo
	echo "| benchmark | measure | petrel | QEMU | petrel / QEMU |"
	echo "|---|---|---|---|---|"
	cat "$tmp/summary"
	echo
	cat "$tmp/boot" "$tmp/api" "$tmp/memory" "$tmp/density" "$tmp/blk" "$tmp/net" \
		"$tmp/devices" "$tmp/sandbox"
	# a section from 9 on kept from the page before, where it was the last,
	# ends without a blank line
	for s in snapshot uffd timeline mmds vsock balloon ratelimit; do
		cat "$tmp/$s"
		[ -z "$(tail -n 1 "$tmp/$s")" ] || echo
	done
	cat "$tmp/kernelload"
} > "$tmp/page"
sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$tmp/page"	# no blank lines at the end
cp "$tmp/page" "$page"
if [ -s "$tmp/missing" ]; then
	echo "report.sh: no samples for: $(sort -u "$tmp/missing" | tr '\n' ' ')" >&2
	exit 1
fi
