# Cairn's build entry point. Each area keeps its targets in hack/mk/<area>.mk so
# that the pieces stay small; this file holds only the shared settings.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BIN := $(ROOT)/bin
CACHE := $(ROOT)/.cache

.DEFAULT_GOAL := build

include $(sort $(wildcard $(ROOT)/hack/mk/*.mk))
