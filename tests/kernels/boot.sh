#!/bin/bash
# boot.sh VERSION THP: boot Debian's own cloud kernel VERSION (6.1: Debian
# 12's; 6.12: Debian 13's, also served to Debian 12 by bookworm-security)
# under qemu with THP mode THP (transparent_hugepage= on the command line),
# run tests/kernels/guest.sh inside, then check on the host what the guest
# brought back (cores with gdb and lcorecheck, --stats reports with python3).
#
# The kernel comes from Debian's archive through apt (apt-get download +
# dpkg -x), cached in LG_KERNEL_CACHE (default ~/.cache/lgcore/kernels) and
# fetched again only when the archive has a newer build.  The initramfs
# (busybox-static, the built tools, targets, unit tests and their shared
# libraries, the virtio block driver) is made at each run; results come back
# on the serial console ("@@LGK" lines) and, with the files, as a tar archive
# on a second virtio disk.
#
# TCG by default (this machine's KVM cannot run these kernels); LG_KERNEL_ACCEL=kvm
# tries KVM.  LG_KERNEL_TIMEOUT (seconds, default 1500) bounds the whole boot: a
# hung guest is killed and the test fails.  LG_KERNEL_ONLY=GLOB,... runs only the
# guest tests matching; LG_KERNEL_MEASURE=1 adds the measurements that assert
# nothing (huge page splits and collapses, khugepaged); LG_KERNEL_KEEP=DIR keeps
# what the guest brought back.  Exit 77 when qemu, busybox-static or the kernel
# cannot be had, unless LG_KERNELS_REQUIRED=1 (CI), which makes that a failure.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
KVER=${1:?usage: boot.sh VERSION THP} THPMODE=${2:?usage: boot.sh VERSION THP}
ME=linux-$KVER-thp-$THPMODE
CACHE=${LG_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lgcore/kernels}
LIMIT=${LG_KERNEL_TIMEOUT:-1500}
ACCEL=${LG_KERNEL_ACCEL:-tcg}
RESULTS=$top_builddir/tests/kernels/$ME.results

need() {
	if [ "${LG_KERNELS_REQUIRED:-0}" = 1 ]; then
		lg_hard "$*"
	fi
	lg_skip "$*"
}
command -v qemu-system-x86_64 >/dev/null || need "qemu-system-x86_64 not installed (Debian: qemu-system-x86)"
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 ||
	need "no static busybox (Debian: busybox-static)"
for p in src/lgcore src/lcorecheck tests/unit/check_track tests/kernels/mmtool; do
	[ -x "$top_builddir/$p" ] || lg_hard "$p not built (make check-kernels builds it)"
done

# ------------------------------------------------------------ the kernel
# The newest cloud kernel package of VERSION that apt knows, its candidate
# version, and an unpacked copy of what the harness needs in the cache.
case $KVER in
6.1) pkg_re='linux-image-6\.1\.0-[0-9]+-cloud-amd64' ;;
6.12) pkg_re='linux-image-6\.12\.[0-9]+\+deb1[23]-cloud-amd64' ;;
*) lg_hard "unknown kernel $KVER" ;;
esac
# Modules the guest loads (with what they need) unless built in.
WANT_MODULES="virtio_pci virtio_blk"

fetch_kernel() {
	local pkg ver dir tmp
	mkdir -p "$CACHE" || return 1
	pkg=$(apt-cache pkgnames linux-image-"$KVER". 2>/dev/null | grep -Ex "$pkg_re" | sort -V | tail -n 1)
	if [ -n "$pkg" ]; then
		ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ { print $2 }')
		dir=$CACHE/$pkg
		if [ -n "$ver" ] && [ "$ver" != "(none)" ] &&
			! [ "$(cat "$dir/.complete" 2>/dev/null)" = "$ver" ]; then
			exec 8>"$CACHE/.lock"
			flock 8
			if ! [ "$(cat "$dir/.complete" 2>/dev/null)" = "$ver" ]; then
				tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
				lg_info "fetching $pkg $ver into $CACHE"
				if (cd "$tmp" && apt-get download -q "$pkg=$ver" >dl.log 2>&1 &&
					dpkg -x ./*.deb x); then
					prune_kernel "$tmp/x" && rm -rf "$dir" && mv "$tmp/x" "$dir" &&
						echo "$ver" >"$dir/.complete"
				else
					lg_info "apt-get download $pkg=$ver failed: $(tail -n 2 "$tmp/dl.log" | tr '\n' ' ')"
				fi
				rm -rf "$tmp"
			fi
			flock -u 8
		fi
	fi
	# What apt cannot give (offline, another distribution) the cache may have.
	KDIR=
	for dir in $(ls -d "$CACHE"/linux-image-* 2>/dev/null | sort -V); do
		[ -f "$dir/.complete" ] && echo "${dir##*/}" | grep -Eqx "$pkg_re" && KDIR=$dir
	done
	[ -n "$KDIR" ] || return 1
	[ -n "$pkg" ] && [ "${KDIR##*/}" != "$pkg" ] &&
		lg_info "apt offers $pkg but it could not be fetched; using the cached ${KDIR##*/}"
	KPKG=${KDIR##*/} KPKGVER=$(cat "$KDIR/.complete")
	VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | head -n 1)
	KCONFIG=$(ls "$KDIR"/boot/config-* | head -n 1)
	KREL=${VMLINUZ##*/vmlinuz-}
}

# Keep the kernel, its config and the modules the guest needs (a cloud
# kernel package is 100 MB unpacked, this is 15 MB).
prune_kernel() {
	local x=$1 mdir m
	mdir=$(ls -d "$x"/lib/modules/* 2>/dev/null | head -n 1)
	[ -n "$mdir" ] || return 1
	# The package has no modules.dep: its postinst runs depmod.
	PATH=$PATH:/usr/sbin:/sbin depmod -b "$x" "${mdir##*/}" || return 1
	mkdir -p "$x/keep"
	for m in $(module_closure "$mdir" $WANT_MODULES); do
		mkdir -p "$x/keep/$(dirname "$m")"
		mv "$mdir/$m" "$x/keep/$m"
	done
	mv "$mdir"/modules.dep "$mdir"/modules.builtin "$x/keep/"
	rm -rf "${mdir:?}"/* "${x:?}/usr" "$x/etc" "$x"/boot/System.map-*
	mv "$x/keep"/* "$mdir/"
	rmdir "$x/keep"
}

# module_closure MODDIR NAME...: module files (relative to MODDIR) to load,
# dependencies first, for every NAME that is not built in.
module_closure() {
	local mdir=$1
	shift
	awk -v want="$*" '
		FILENAME ~ /modules.builtin$/ { b = $1; sub(/.*\//, "", b); sub(/\.ko$/, "", b); builtin[b] = 1; next }
		{ m = $1; sub(/:$/, "", m); deps[m] = ""; for (i = 2; i <= NF; i++) deps[m] = deps[m] " " $i
		  n = m; sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n); gsub(/-/, "_", n); file[n] = m }
		function load(m,   d, k, i) {
			if (m in done) return
			done[m] = 1
			k = split(deps[m], d, " ")
			for (i = k; i >= 1; i--) load(d[i])
			print m
		}
		END { n = split(want, w, " "); for (i = 1; i <= n; i++) {
			gsub(/-/, "_", w[i]); if (w[i] in builtin) continue
			if (!(w[i] in file)) { print "missing " w[i] > "/dev/stderr"; exit 1 }
			load(file[w[i]]) } }' "$mdir/modules.builtin" "$mdir/modules.dep"
}

fetch_kernel || need "no Debian $KVER cloud kernel: apt knows no package matching $pkg_re and none is cached in $CACHE"
SD=0 UFFD=0
grep -q '^CONFIG_MEM_SOFT_DIRTY=y' "$KCONFIG" && SD=1
# WP_ASYNC and PAGEMAP_SCAN appeared in 6.7.
kmaj=${KPKGVER%%.*} kmin=${KPKGVER#*.}
kmin=${kmin%%[.-]*}
if [ $((kmaj * 1000 + kmin)) -ge 6007 ] && grep -q '^CONFIG_USERFAULTFD=y' "$KCONFIG" &&
	grep -q '^CONFIG_HAVE_ARCH_USERFAULTFD_WP=y' "$KCONFIG"; then
	UFFD=1
fi
lg_info "$KPKG $KPKGVER ($KREL): soft-dirty $SD, uffd async-wp $UFFD, THP $THPMODE, $ACCEL"

# --------------------------------------------------------- the initramfs
R=$T/root
mkdir -p "$R"/bin "$R"/lg/modules "$R"/proc "$R"/sys "$R"/dev "$R"/tmp "$R"/out
cp "$BUSYBOX" "$R/bin/busybox"
cp "$top_srcdir/tests/kernels/guest-init" "$R/init"
chmod 755 "$R/init"
# put FILE [DEST]: a built file at the same place under /lg, with the shared
# libraries it needs at their own paths.
put() {
	local f=$1 dest=$R/lg/${2:-$1} lib
	mkdir -p "$(dirname "$dest")"
	cp "$top_builddir/$f" "$dest" || lg_hard "cannot copy $f"
	for lib in $(ldd "$top_builddir/$f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		[ -e "$R$lib" ] && continue
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
}
for f in src/lgcore tests/track-targets/consistency tests/targets/target-threads \
	tests/kernels/mmtarget tests/kernels/mmtool; do
	put "$f"
done
for u in check_common check_proc check_mem check_ptrace check_inject check_elfcore \
	check_track check_track_softdirty; do
	put tests/unit/$u
done
mkdir -p "$R/lg/tests/unit" "$R/lg/tests/kernels"
cp -r "$top_srcdir/tests/unit/fixtures" "$R/lg/tests/unit/"
cp "$top_srcdir/tests/kernels/guest.sh" "$R/lg/tests/kernels/"
: >"$R/lg/modules/order"
mdir=$(ls -d "$KDIR"/lib/modules/*)
for m in $(module_closure "$mdir" $WANT_MODULES); do
	n=${m##*/}
	case $n in
	*.xz) xz -dc "$mdir/$m" >"$R/lg/modules/${n%.xz}"; n=${n%.xz} ;;
	*.zst) zstd -qdc "$mdir/$m" >"$R/lg/modules/${n%.zst}"; n=${n%.zst} ;;
	*) cp "$mdir/$m" "$R/lg/modules/$n" ;;
	esac
	echo "$n" >>"$R/lg/modules/order"
done
(cd "$R" && find . | cpio -o -H newc --quiet) >"$T/initrd" || lg_hard "cpio failed"
truncate -s 512M "$T/out.img"

# ------------------------------------------------------------------ boot
lg_info "booting $KREL (initramfs $(($(stat -c %s "$T/initrd") / 1048576)) MiB, limit ${LIMIT}s)"
case $ACCEL in
kvm) accel=(-accel kvm -cpu host) ;;
*) accel=(-accel tcg,thread=multi -cpu max) ;;
esac
t0=$(date +%s)
timeout -k 10 "$LIMIT" qemu-system-x86_64 "${accel[@]}" -smp 2 -m 1536 -nodefaults \
	-display none -monitor none -serial "file:$T/serial.log" -no-reboot \
	-kernel "$VMLINUZ" -initrd "$T/initrd" \
	-drive "file=$T/out.img,format=raw,if=virtio" \
	-append "console=ttyS0 quiet panic=-1 transparent_hugepage=$THPMODE lgk.thp=$THPMODE lgk.sd=$SD lgk.uffd=$UFFD lgk.deadline=$((LIMIT - 30)) lgk.only=${LG_KERNEL_ONLY:-} lgk.measure=${LG_KERNEL_MEASURE:-0}" \
	</dev/null >"$T/qemu.log" 2>&1
qrc=$?
wall=$(($(date +%s) - t0))
tr -d '\r' <"$T/serial.log" >"$T/console.log"
lg_info "qemu exited $qrc after ${wall}s"
cat "$T/qemu.log"
echo "---- guest console"
grep -v '^@@LGK fact ' "$T/console.log"
echo "---- end of guest console"

# ----------------------------------------------------------- the results
: >"$T/results"
res() { echo "$*" >>"$T/results"; }
grep '^@@LGK result ' "$T/console.log" | sed 's/^@@LGK result //' | while read -r name status rest; do
	res "$status $name $rest"
done
grep -q '^@@LGK done$' "$T/console.log" ||
	res "fail guest/finished the suite did not finish (qemu exit $qrc after ${wall}s; last: $(grep '^@@LGK begin' "$T/console.log" | tail -n 1))"
if grep -q '^@@LGK result unit/check_track_softdirty ' "$T/console.log" &&
	[ "$(grep -c '^@@LGK result unit/check_track_softdirty pass' "$T/console.log")" != "$SD" ]; then
	res "fail guest/softdirty-unit check_track_softdirty did not pass on a kernel with CONFIG_MEM_SOFT_DIRTY=$SD"
fi
mkdir -p "$T/out"
tar -xf "$T/out.img" -C "$T/out" 2>/dev/null || res "fail guest/results-disk no tar archive on the results disk"

# The stopped target's cores, read on the host: gdb sees each thread's TLS
# value and the heap, stack and global patterns the target printed;
# lcorecheck validates both cores and finds no difference between them.
host_stopped() {
	local d=$T/out/stopped exe=$top_builddir/tests/targets/target-threads n i tid want got r a
	[ -f "$d/precopy.core" ] && [ -f "$d/stop.core" ] || { res "fail host/stopped-gdb no cores came back"; return; }
	FAILED=0
	TOUT=$d/target.out
	n=$(lg_kv threads)
	for mode in precopy stop; do
		lg_gdb "$exe" "$d/$mode.core" "thread apply all print/x tls_var" >"$T/$mode.tls"
		for i in $(seq 0 $((n - 1))); do
			tid=$(lg_kv thread.$i.tid) want=$(lg_kv thread.$i.tls)
			got=$(awk -v lwp="(LWP $tid))" '
				/^Thread [0-9]+ \(/ { inb = index($0, lwp) > 0; next }
				inb && /^\$[0-9]+ = / { print $3; exit }' "$T/$mode.tls")
			[ "$got" = "$want" ] || lg_fail "$mode core: tls_var of LWP $tid is '$got', expected $want"
		done
		for r in heap stack global; do
			a=$(lg_kv $r.addr)
			lg_gdb "$exe" "$d/$mode.core" "x/1gx $a" "x/1gx $a + $(lg_kv $r.len) - 8" >"$T/$r.x"
			[ "$(awk 'NR == 1 { print $NF }' "$T/$r.x")" = "$(lg_kv $r.first)" ] ||
				lg_fail "$mode core: first word of $r is not $(lg_kv $r.first): $(head -n 1 "$T/$r.x")"
			[ "$(awk 'NR == 2 { print $NF }' "$T/$r.x")" = "$(lg_kv $r.last)" ] ||
				lg_fail "$mode core: last word of $r is not $(lg_kv $r.last): $(sed -n 2p "$T/$r.x")"
		done
	done
	if [ "$FAILED" = 0 ]; then
		res "pass host/stopped-gdb $n threads' TLS and 3 patterns in both cores"
	else
		res "fail host/stopped-gdb see the log"
	fi
	for mode in precopy stop; do
		if "$top_builddir/src/lcorecheck" --exe "$exe" "$d/$mode.core" >"$T/lc.$mode" 2>&1; then
			res "pass host/lcorecheck-$mode valid"
		else
			cat "$T/lc.$mode"
			res "fail host/lcorecheck-$mode $(head -n 1 "$T/lc.$mode")"
		fi
	done
	if "$top_builddir/src/lcorecheck" --exe "$exe" "$d/precopy.core" "$d/stop.core" >"$T/lc.diff" 2>&1; then
		res "pass host/lcorecheck-precopy-vs-stop no difference"
	else
		cat "$T/lc.diff"
		res "fail host/lcorecheck-precopy-vs-stop $(head -n 1 "$T/lc.diff")"
	fi
}

# Pre-copy converges: on the 32 MiB target writing 200 random pages/s, the
# final stop copies at most an eighth of what pass 0 copied, and of what
# stop mode copied of the same target.  Soft-dirty with THP always gets
# there by splitting the huge pages written whole: there it must have split
# some and collapsed some again, and the huge pages the guest counts after
# the dump (pagemap + kpageflags) must be those lgcore says it left.
host_converge() {
	local tracker line
	for tracker in softdirty softdirty-user uffd; do
		[ -f "$T/out/thp-200-$tracker.json" ] || continue
		line=$(python3 - "$T/out" "$tracker" "$THPMODE" "$T/console.log" <<'PY'
import json, os, re, sys
out, tracker, thp, console = sys.argv[1:5]
d = json.load(open(os.path.join(out, "thp-200-%s.json" % tracker)))
p = [x["pages"] for x in d["passes"]]
final = d["final_stop"]["dirty_pages"]
stop_pages = None
sf = os.path.join(out, "thp-200-stop.json")
if os.path.exists(sf):
    stop_pages = json.load(open(sf))["bytes_read"] // 4096
bound = min(p[0], stop_pages or p[0]) // 8 if p else 0
# khugepaged collapses split huge pages again (a collapse marks all 512
# pages dirty); one between the last pass and the final stop lands in the
# final stop, whatever lgcore does: each collapse during the dump allows
# 512 pages more.
collapsed = 0
cf = os.path.join(out, "thp-200-%s.collapsed" % tracker)
if os.path.exists(cf):
    collapsed = int(open(cf).read().strip() or 0)
bound += 512 * collapsed
bad = []
if not p or final > bound:
    bad.append("final stop above the bound")
t = d.get("thp", {})
huge = ""
if tracker == "softdirty-user":
    # Without CAP_SYS_NICE: split by madvise injected into the target;
    # nothing collapsed after (khugepaged's job).
    if thp == "always" and not t.get("split_injected"):
        bad.append("no huge page split by injection")
elif tracker == "softdirty":
    facts = {}
    for l in open(console):
        m = re.match(r"@@LGK fact measure/thp/200 (\S+) (\d+) anonhuge_kb", l)
        if m:
            facts[m.group(1)] = int(m.group(2))
    huge = " huge %s->%s split %s collapsed %s refused %s" % (
        facts.get("start"), facts.get("after_softdirty"), t.get("split"), t.get("collapsed"),
        t.get("collapse_refused"))
    if thp == "always":
        if not t.get("split"):
            bad.append("no huge page split")
        if not t.get("collapsed"):
            bad.append("no huge page collapsed again")
        # What lgcore says it left split is what the guest counts
        # (khugepaged may have collapsed more meanwhile).
        left = t.get("split", 0) - t.get("collapsed", 0)
        if facts.get("start") is None or facts.get("after_softdirty") is None or \
                not facts["start"] - left <= facts["after_softdirty"] <= facts["start"]:
            bad.append("huge pages after the dump not as reported")
    elif t.get("split"):
        bad.append("split huge pages with THP never")
print("fail" if bad else "pass", "passes", "/".join(map(str, p)), "final", final, "bound", bound,
      "khugepaged_collapsed", collapsed,
      "stop", stop_pages, huge + (": " + ", ".join(bad) if bad else ""))
PY
)
		res "${line%% *} host/converge/$tracker/200 ${line#* }"
	done
}

# The --stats reports as one line each, for the measurements.
host_measure() {
	python3 - "$T"/out/consistency-*.json "$T"/out/thp-*.json <<'PY' >>"$T/results"
import json, os, sys
for f in sys.argv[1:]:
    if not os.path.exists(f):
        continue
    d = json.load(open(f))
    name = os.path.basename(f)[:-5]
    p = [x["pages"] for x in d["passes"]]
    fs = d["final_stop"]
    print("info", "measure/" + name, d["mode"], d["tracker"],
          "passes", "/".join(map(str, p)) or "-", "final_dirty", fs["dirty_pages"],
          "final_full_kib", fs["full_bytes"] // 1024, "pause_ms", d["pause_ms"],
          "read_kib", d["bytes_read"] // 1024)
PY
}

grep -q '^@@LGK result stopped ' "$T/console.log" && host_stopped
host_converge
host_measure

# ------------------------------------------------------------- the table
echo "==== $ME: $KPKG $KPKGVER, THP $THPMODE, $ACCEL, ${wall}s"
sort -k2,2 -s "$T/results" | awk '{ printf "  %-6s %-40s", $1, $2; $1 = $2 = ""; print $0 }'
echo "---- facts"
grep '^@@LGK fact ' "$T/console.log" | sed 's/^@@LGK fact /  /'
mkdir -p "$(dirname "$RESULTS")"
{
	echo "# $KPKG $KPKGVER THP=$THPMODE $ACCEL ${wall}s"
	cat "$T/results"
	grep '^@@LGK fact ' "$T/console.log" | sed 's/^@@LGK /# /'
} >"$RESULTS"
[ -n "${LG_KERNEL_KEEP:-}" ] && mkdir -p "$LG_KERNEL_KEEP/$ME" && cp -r "$T/out" "$T/console.log" "$LG_KERNEL_KEEP/$ME/"
grep -Eq '^(fail|xpass) ' "$T/results" && exit 1
grep -q '^pass ' "$T/results" || exit 1
exit 0
