# Conventional entry points over CMake:
#   make                      build into build/
#   make install PREFIX=DIR   install pgd, pgd(1) and the bash completion (default /usr/local)
#   make deb                  a Debian package in build/ (cpack)
#   make test                 the test command of the README (needs root)
PREFIX ?= /usr/local
BUILD_DIR ?= build

all:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD_DIR)

install: all
	cmake --install $(BUILD_DIR) --prefix $(DESTDIR)$(PREFIX)

deb: all
	cd $(BUILD_DIR) && cpack -G DEB

test:
	bash scripts/test.sh

.PHONY: all install deb test
