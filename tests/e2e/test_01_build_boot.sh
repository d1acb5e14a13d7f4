#!/usr/bin/env bash
# test_01_build_boot: build every shipped recipe for real and boot it under QEMU; the recipe's
# check must pass from the host (hello prints its greeting, nginx answers HTTP 200 with its
# page, redis answers PING, python-http serves a file listing).
# timeout: 2400 (a fresh cache fetches and builds every recipe's packages and kernel)
. "$(dirname "$0")/lib.sh"

# The images stay in $E2E_IMAGES for the tests after this one (test_24, test_25).
mkdir -p "$E2E_IMAGES"
for app in $E2E_APPS; do
    rm -rf "${E2E_IMAGES:?}/$app"
    run "build-$app" "$TINYX" build -o "$E2E_IMAGES/$app" "$app"
    expect_rc "build-$app" 0 "$app: tinyx build"
    [ "$RC" -eq 0 ] || continue
    for f in kernel bzImage kernel.config initrd cmdline manifest.json; do
        [ -s "$E2E_IMAGES/$app/$f" ] || fail "$app: image lacks $f"
    done
    # Its own kernel: a PVH vmlinux built from linux-source-6.1, drivers built in.
    fmt=$(jq -r .kernel.format "$E2E_IMAGES/$app/manifest.json")
    src=$(jq -r .kernel.source "$E2E_IMAGES/$app/manifest.json")
    if [ "$fmt" = elf ] && [[ "$src" == tinyx* ]]; then pass "$app: own kernel ($src)"; else fail "$app: kernel is $fmt from $src"; fi
    if [ "$app" = hello ]; then
        # A program that prints and exits: the VM exits with its status.
        run "boot-$app" "$TINYX" run --timeout 120 "$E2E_IMAGES/$app"
        expect_rc "boot-$app" 0 "$app: boots and exits 0"
        expect_text "boot-$app" out '^Hello, world!' "$app: greeting on the console"
    else
        # A server: --until-ready passes only when the recipe's check passes from the host.
        run "boot-$app" "$TINYX" run --until-ready --json --timeout 180 "$E2E_IMAGES/$app"
        expect_rc "boot-$app" 0 "$app: boots and passes its check"
        expect_text "boot-$app" out '"ready_us": *[0-9]+' "$app: reports ready_us"
    fi
done
finish
