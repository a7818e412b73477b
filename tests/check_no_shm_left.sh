#!/bin/sh
# ctest cleanup fixture: runs after every test that uses shared memory.
# Fails if a test domain's object (/dev/shm/mqs.<uid>.mqstest*) is left
# behind -- by a missing destroy, or by a test that crashed or timed out
# before its teardown ran -- and removes it, so the next run starts clean.
set -u
uid=$(id -u)
left=$(find /dev/shm -maxdepth 1 -name "mqs.$uid.mqstest*" 2>/dev/null | sort)
if [ -z "$left" ]; then
    echo "no test objects left in /dev/shm"
    exit 0
fi
echo "objects left in /dev/shm by the tests (now removed):"
echo "$left"
# Test object names use only [A-Za-z0-9_.-]: no quoting problems.
rm -f $left
exit 1
