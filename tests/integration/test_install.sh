#!/usr/bin/env bash
# petrel installs as a system tool: cpack -G DEB makes a package that depends
# on nothing; unpacked into a scratch root its petrel runs and names its
# commit, and its manual page renders without a warning. cmake --install puts
# the binary, petrel(1), the docs and the examples where a user looks. The
# manual lists exactly the flags petrel --help and petrel jail --help list.
. "$(dirname "$0")/lib.sh"
for tool in cpack dpkg-deb man; do
	command -v $tool >/dev/null || skip "$tool is needed (scripts/deps.sh test installs it)"
done
build=$(dirname "$PETREL_BIN")
[ -f "$build/CPackConfig.cmake" ] || skip "$build has no CPack configuration"
# What users install is the static release build, not a sanitizer build.
! grep -q '^PETREL_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" ||
	skip "$build is a sanitizer build; the package is made from the release build"

# --- the .deb ---
if (cd "$build" && cpack -G DEB -B "$T/pkg" >"$T/cpack.log" 2>&1); then
	pass "cpack -G DEB"
else
	fail "cpack -G DEB: $(tail -5 "$T/cpack.log")"
fi
deb=$(ls "$T"/pkg/petrel_*_amd64.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { fail "no petrel_*_amd64.deb in $T/pkg"; finish; }
depends=$(dpkg-deb -f "$deb" Depends Pre-Depends)
[ -z "$depends" ] && pass "the package depends on nothing" || fail "the package depends on: $depends"
dpkg-deb -x "$deb" "$T/root"
for f in usr/bin/petrel usr/share/man/man1/petrel.1.gz usr/share/doc/petrel/copyright \
	usr/share/doc/petrel/docs/api.md usr/share/doc/petrel/docs/architecture.md \
	usr/share/doc/petrel/examples/vm-config.json; do
	[ -e "$T/root/$f" ] || fail "the package lacks /$f"
done
[ -x "$T/root/usr/share/doc/petrel/examples/boot-with-curl.sh" ] &&
	pass "the package holds petrel, its manual, docs and examples" ||
	fail "examples/boot-with-curl.sh is not executable in the package"
if file "$T/root/usr/bin/petrel" | grep -q "statically linked"; then
	pass "the packaged petrel is static"
else
	fail "the packaged petrel is not static: $(file "$T/root/usr/bin/petrel")"
fi
version=$("$T/root/usr/bin/petrel" --version 2>&1) || true
commit=unknown
if git -C "$PETREL_SRC" rev-parse --git-dir >/dev/null 2>&1; then
	commit='[0-9a-f]{7,}(-dirty)?|v?[0-9][^ ]*-g[0-9a-f]+(-dirty)?'
fi
if grep -Eqx "petrel v[0-9]+\.[0-9]+\.[0-9]+ \(($commit)\)" <<<"$version"; then
	pass "petrel --version from the package: $version"
else
	fail "petrel --version from the package: '$version', expected the version and a commit"
fi

# --- the manual page ---
for page in "$PETREL_SRC/docs/petrel.1" "$T/root/usr/share/man/man1/petrel.1.gz"; do
	MANWIDTH=80 man --warnings -l "$page" >"$T/man.txt" 2>"$T/man.err" || true
	if [ -s "$T/man.err" ]; then
		fail "man -l ${page#"$T"/}: warnings: $(head -5 "$T/man.err")"
	elif ! grep -q "EXIT STATUS" "$T/man.txt"; then
		fail "man -l ${page#"$T"/} rendered no EXIT STATUS: $(head -5 "$T/man.txt")"
	else
		pass "man -l ${page#"$T"/} renders without warnings"
	fi
done
for code in 0 1 148 149 150; do
	sed -n '/^EXIT STATUS/,/^FILES/p' "$T/man.txt" | grep -Eq "^ +$code +[A-Z]" ||
		fail "EXIT STATUS lacks $code"
done

# --- every flag in --help is in the manual, and the manual has no other ---
{
	"$PETREL_BIN" --help
	"$PETREL_BIN" jail --help
} | grep -Eo -- '--[a-z][a-z-]*' | sort -u >"$T/help.flags"
# From the synopsis to the exit status (the examples use curl's flags too);
# the manual also names the snapshot subcommand's words.
sed -n '/^SYNOPSIS/,/^EXIT STATUS/p' "$T/man.txt" | grep -Eo -- '--[a-z][a-z-]*' |
	sort -u >"$T/man.flags"
extra=$(comm -13 "$T/help.flags" "$T/man.flags" | grep -vx -- '--base\|--diff\|--describe-snapshot' || true)
missing=$(comm -23 "$T/help.flags" "$T/man.flags")
[ -z "$missing" ] && pass "petrel(1) has all $(wc -l <"$T/help.flags") flags --help lists" ||
	fail "petrel(1) lacks: $missing"
[ -z "$extra" ] && pass "petrel(1) names no flag --help lacks" || fail "petrel(1) names unknown flags: $extra"
help_lines=$("$PETREL_BIN" --help | grep -c '^  --')
[ "$help_lines" -ge 19 ] && pass "petrel --help: $help_lines flags, one line each" ||
	fail "petrel --help lists $help_lines flags"

# --- cmake --install ---
if cmake --install "$build" --prefix "$T/prefix" >"$T/install.log" 2>&1; then
	for f in bin/petrel share/man/man1/petrel.1.gz share/doc/petrel/docs/api.md \
		share/doc/petrel/examples/vm-config.json; do
		[ -e "$T/prefix/$f" ] || fail "cmake --install put no $f"
	done
	"$T/prefix/bin/petrel" --version >/dev/null && pass "cmake --install: bin, man1, doc"
else
	fail "cmake --install: $(tail -5 "$T/install.log")"
fi
finish
