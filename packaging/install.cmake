# Install rules (docs/decisions.md "Install"; README "Install from source"). Included by CMakeLists.txt.
#
# Components: cli (the binary, man pages, bash completion, web console assets, docs: what the Debian package
# ships), lib (libdicomveil.so.X), dev (headers, libdicomveil.a, the .so link, dicomveil.pc). A plain
# `cmake --install` / `make install` installs all three. Rules name targets and directories, never file lists,
# so a new header, source or console asset is installed without editing this file.
# [integration.test_install; test_deb.sh "dpkg-deb --build"]

install(TARGETS dicomveil_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
# The binary's internal modules (server.so, mpi.so), where it looks for them: <bin>/../<libdir>/dicomveil.
install(TARGETS ${DV_MODULES} LIBRARY DESTINATION ${DV_MODULE_INSTALL_DIR} COMPONENT cli)
install(TARGETS dicomveil ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
if(TARGET dicomveil_shared)
  install(TARGETS dicomveil_shared
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib NAMELINK_COMPONENT dev)
endif()
install(DIRECTORY include/dicomveil DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
  FILES_MATCHING PATTERN "*.h")

# dicomveil.pc: the prefix is found from the .pc file's own place (${pcfiledir}), so the same file is right
# under any --prefix or DESTDIR given at install time, not only the configured one.
file(RELATIVE_PATH DV_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" DV_PC_TO_PREFIX "${DV_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/packaging/dicomveil.pc.in ${PROJECT_BINARY_DIR}/dicomveil.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/dicomveil.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# Man pages: generated from the built binary's --help plus docs/man/<page>.in (tools/gen_man.py), so the
# options a page documents are the ones the binary has. [integration.test_man_pages]
set(DV_MAN_PAGES dicomveil.1 dicomveil-deidentify.1 dicomveil-inspect.1 dicomveil-render.1 dicomveil-serve.1
  dicomveil-config.5)
set(DV_MAN_OUTPUTS "")
foreach(page ${DV_MAN_PAGES})
  set(in ${PROJECT_SOURCE_DIR}/docs/man/${page}.in)
  set(out ${PROJECT_BINARY_DIR}/man/${page})
  add_custom_command(OUTPUT ${out}
    COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tools/gen_man.py --bin $<TARGET_FILE:dicomveil_cli>
      --changelog ${PROJECT_SOURCE_DIR}/CHANGELOG.md --out ${out} ${in}
    DEPENDS ${in} dicomveil_cli ${PROJECT_SOURCE_DIR}/tools/gen_man.py ${PROJECT_SOURCE_DIR}/CHANGELOG.md
    COMMENT "man page ${page}")
  list(APPEND DV_MAN_OUTPUTS ${out})
  string(REGEX REPLACE ".*\\." "" section "${page}")
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT cli)
endforeach()
add_custom_target(dv_man_pages ALL DEPENDS ${DV_MAN_OUTPUTS})

install(FILES ${PROJECT_SOURCE_DIR}/packaging/bash-completion/dicomveil
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT cli)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md ${PROJECT_SOURCE_DIR}/NOTICE
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT cli)

# Run-time data: the PS3.6/PS3.15/IOD tables and the text lexicons are compiled into the library, so nothing is
# read from disk for them. The web console's assets (console/, when the tree has it) go to
# <prefix>/share/dicomveil/console, which the binary finds as <dir of the executable>/../share/dicomveil/console.
# The OCR model (eng.traineddata) is Tesseract's own package (tesseract-ocr-eng), not ours.
# OPTIONAL: decided at install time, so a console/ that appears after configuring (a merge) is installed too.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/console/ DESTINATION ${CMAKE_INSTALL_DATADIR}/dicomveil/console
  COMPONENT cli OPTIONAL)

# `cmake --build build --target uninstall` (`make uninstall`): removes what the last install into this build
# tree's manifest recorded (tools/uninstall.sh; the Makefile keeps its own copy of the manifest).
add_custom_target(uninstall
  COMMAND /bin/bash ${PROJECT_SOURCE_DIR}/tools/uninstall.sh ${PROJECT_BINARY_DIR}/install_manifest.txt
  COMMENT "uninstall: files listed in install_manifest.txt")
