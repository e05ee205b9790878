#!/usr/bin/env bash
# Prints the nats-server binary to use: the one on PATH, else Debian's /usr/sbin one (not on a user's PATH).
if command -v nats-server >/dev/null 2>&1; then command -v nats-server; else echo /usr/sbin/nats-server; fi
