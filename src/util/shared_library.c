/* libdicomveil.so is made of the static library's objects, whole (CMakeLists.txt "The shared library"); CMake
 * wants at least one source of the shared library's own, and this is it. Nothing else belongs here. */
typedef int dv_shared_library_has_no_code_of_its_own;
