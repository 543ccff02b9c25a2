#!/usr/bin/env bash
# `make check-style`: the mechanical part of DESIGN.md's conventions for C
# (controller/, nginx-module/, tools/, test/unit/): lines of at most 80
# columns, no tabs, no trailing whitespace.  Prints each offence with its
# file and line; exit 1 if there is any.
set -u
cd "$(dirname "$0")/.."

files=$(git ls-files 'controller/*.c' 'controller/*.h' 'nginx-module/*.c' \
        'nginx-module/*.h' 'tools/*.c' 'test/unit/*.c' 'test/unit/*.h')

# shellcheck disable=SC2086
awk '
    length($0) > 80 { printf "%s:%d: %d columns\n", FILENAME, FNR, length($0); bad = 1 }
    /\t/            { printf "%s:%d: tab\n", FILENAME, FNR; bad = 1 }
    /[ \t]+$/       { printf "%s:%d: trailing whitespace\n", FILENAME, FNR; bad = 1 }
    END             { exit bad }
' $files
