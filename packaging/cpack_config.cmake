# Read by CPack at packaging time: the boot unit in the .deb names /usr/bin/pgd,
# not CPack's staging directory.
set(ENV{PGD_UNIT_PREFIX} "${CPACK_PACKAGING_INSTALL_PREFIX}")
