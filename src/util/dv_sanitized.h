/* DV_SANITIZED: defined in an ASan or UBSan build (GCC's __SANITIZE_* macros, clang's __has_feature), where the
 * sanitizer's runtime handles faults and keeps its own alternate signal stacks, so dicomveil installs neither. */
#ifndef DV_SANITIZED_H
#define DV_SANITIZED_H

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define DV_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define DV_SANITIZED 1
#endif
#endif

#endif
