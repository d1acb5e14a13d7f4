#!/usr/bin/env bash
# test_03_errors: bad input gets a clear error, a meaningful exit code and leaves no image.
. "$(dirname "$0")/lib.sh"

# Unknown package: exit 4, close matches named.
run unknown "$TINYX" build -o "$WORK/u" --package ngnix-light --cmd /usr/sbin/nginx
expect_rc unknown 4 "unknown package"
expect_text unknown err "unknown package 'ngnix-light'.*did you mean 'nginx-light'" "unknown package names a close match"
[ ! -e "$WORK/u" ] && pass "no image folder left" || fail "image folder left behind"

# Bad YAML: exit 3, file:line:col.
printf 'name: bad\npackages: [hello\ncmd: [/usr/bin/hello]\n' > "$WORK/bad.yaml"
run badyaml "$TINYX" build -o "$WORK/b" "$WORK/bad.yaml"
expect_rc badyaml 3 "bad YAML"
expect_text badyaml err "bad.yaml:[0-9]+:[0-9]+: " "bad YAML error has file:line:col"

# Unknown recipe key: exit 3, position and close match.
printf 'name: typo\npackges: [hello]\ncmd: [/usr/bin/hello]\n' > "$WORK/typo.yaml"
run typo "$TINYX" build -o "$WORK/t" "$WORK/typo.yaml"
expect_rc typo 3 "unknown recipe key"
expect_text typo err "typo.yaml:2:1: .*packges.*did you mean 'packages'" "unknown key at 2:1 with close match"

# A binary in cmd that is not in the image: exit 5, says so.
printf 'name: nobin\npackages: [hello]\ncmd: [/usr/bin/helo]\n' > "$WORK/nobin.yaml"
run nobin "$TINYX" build -o "$WORK/n" "$WORK/nobin.yaml"
expect_rc nobin 5 "cmd binary not in the image"
expect_text nobin err "/usr/bin/helo is not in the image" "missing binary named"
[ ! -e "$WORK/n" ] && pass "no image folder left" || fail "image folder left behind"

# Not a name in PATH either: the close match among the root's programs.
printf 'name: nobin2\npackages: [hello]\ncmd: [helo]\n' > "$WORK/nobin2.yaml"
run nobin2 "$TINYX" build -o "$WORK/n2" "$WORK/nobin2.yaml"
expect_rc nobin2 5 "cmd name not in PATH"
expect_text nobin2 err "'helo' is not in the image.*did you mean 'hello'" "close match for a missing program"

# Usage errors: exit 2.
run usage "$TINYX" build
expect_rc usage 2 "build without a recipe"
run badopt "$TINYX" build --compression lz4 hello
expect_rc badopt 2 "unknown compression"
finish
