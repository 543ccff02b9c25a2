# ngx-gateway: a Kubernetes Gateway API controller for NGINX.
#
#   make          build build/ngx-gateway and the nginx module
#   make test     install what is missing, build, run every test suite
#   make demo     run the games walkthrough on this machine
#   make crds     install the Gateway API v1.6.1 CRDs with kubectl
#                 (CHANNEL=experimental for TLS/TCP/UDP routes)
#   make bench    render / memory / reload benchmarks (docs/benchmarks.md)
#   make bench-module, make bench-stream, make bench-match
#                 the nginx modules' cost and our matching vs path-only and
#                 vs njs, side by side (docs/benchmarks.md)

CC       ?= cc
BUILD    := build
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)

PKGS     := libcurl libcjson yaml-0.1 libpcre2-8 openssl
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
            -Icontroller -DGW_VERSION='"$(VERSION)"'
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

SRCS      := $(shell find controller -name '*.c' | sort)
LIB_SRCS  := $(filter-out controller/main.c,$(SRCS))
TMPLS     := $(sort $(wildcard templates/*.tmpl))
GEN_TMPL  := $(BUILD)/gen/templates.c

OBJS      := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS)) \
             $(BUILD)/obj/gen/templates.o
ASAN_OBJS := $(patsubst %.c,$(BUILD)/asan/%.o,$(LIB_SRCS)) \
             $(BUILD)/asan/gen/templates.o
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all

UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS := $(patsubst test/unit/%.c,$(BUILD)/test/%,$(UNIT_SRCS))
ASAN_BINS := $(patsubst test/unit/%.c,$(BUILD)/test-asan/%,$(UNIT_SRCS))

MODULE    := $(BUILD)/ngx_http_gateway_module.so
STREAM_MODULE := $(BUILD)/ngx_stream_gateway_module.so
DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps module test unit unit-asan golden integration conformance \
        kube chart crds demo bench bench-module bench-stream bench-match clean \
        check-style

all: $(BUILD)/ngx-gateway $(MODULE) $(STREAM_MODULE) $(BUILD)/kube-probe

deps: | $(BUILD)
	@bash deploy/deps.sh

$(DEPS_STAMP): deploy/deps.sh | $(BUILD)
	@bash deploy/deps.sh
	@touch $@

$(BUILD):
	@mkdir -p $(BUILD)

$(GEN_TMPL): $(TMPLS) controller/render/gen_templates.sh | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	sh controller/render/gen_templates.sh $(TMPLS) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: %.c $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/gen/templates.o: $(GEN_TMPL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/asan/%.o: %.c $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/gen/templates.o: $(GEN_TMPL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libgw.a: $(OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libgw-asan.a: $(ASAN_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/ngx-gateway: $(BUILD)/obj/controller/main.o $(BUILD)/libgw.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# A development tool: prints every informer event from an API server.
$(BUILD)/kube-probe: tools/kube-probe.c $(BUILD)/libgw.a
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libgw.a $(PKG_LIBS) -lm

module: $(MODULE) $(STREAM_MODULE)

# One configure and make builds both: the http module, and the stream one
# in its own .so (it needs nginx's stream module loaded before it).
$(MODULE) $(STREAM_MODULE) &: $(wildcard nginx-module/*) $(DEPS_STAMP)
	bash nginx-module/build.sh $(BUILD)

# Unit tests (cmocka), plain and under ASan+UBSan.
$(BUILD)/test/%: test/unit/%.c $(BUILD)/libgw.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itest/unit -o $@ $< $(BUILD)/libgw.a \
	    $(PKG_LIBS) -lcmocka -lm

$(BUILD)/test-asan/%: test/unit/%.c $(BUILD)/libgw-asan.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $(PKG_CFLAGS) -Itest/unit -o $@ $< \
	    $(BUILD)/libgw-asan.a $(PKG_LIBS) -lcmocka -lm

unit: $(UNIT_BINS)
	@bash test/run-unit.sh unit $(UNIT_BINS)

unit-asan: $(ASAN_BINS)
	@bash test/run-unit.sh unit-asan $(ASAN_BINS)

golden: $(BUILD)/ngx-gateway
	@bash test/golden/run.sh $(BUILD)/ngx-gateway

integration: all
	@bash test/integration/run.sh

# The Gateway API v1.6.1 conformance cases' status assertions, replayed
# offline (test/conformance/README.md).
conformance: $(BUILD)/ngx-gateway
	@/usr/bin/python3 -m pytest -q -p no:cacheprovider test/conformance

# Kubernetes mode against the API server stand-in (test/kube/README.md).
kube: all
	@/usr/bin/python3 -m pytest -q -p no:cacheprovider test/kube

# The Helm chart: helm lint/template, the chart's pod against the API
# server stand-in, the deploy examples (test/deploy/conftest.py).
chart: all
	@/usr/bin/python3 -m pytest -q -p no:cacheprovider test/deploy

test: $(DEPS_STAMP)
	@bash test/run-all.sh

# The CRDs come from the Gateway API release (the chart does not install
# them); kubectl uses the current context.
CHANNEL ?= standard
crds:
	@bash deploy/crds.sh $(CHANNEL)

demo: all
	@bash examples/games/demo.sh

bench: all
	@bash bench/run.sh

bench-module: all
	@/usr/bin/python3 bench/http_module_cost.py

bench-stream: all
	@/usr/bin/python3 bench/stream_cost.py

# Path-only vs our gateway_match vs an njs matcher (NGINX Gateway Fabric
# style); needs Debian's libnginx-mod-http-js.
bench-match: all
	@/usr/bin/python3 bench/match_cost.py

check-style:
	@bash .ci/check-style.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/asan -name '*.d' 2>/dev/null)
