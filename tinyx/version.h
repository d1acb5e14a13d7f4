/* version.h: the one version string of tinyx and tinyx-launch. */
#ifndef TINYX_VERSION_H
#define TINYX_VERSION_H

#define TINYX_VERSION "0.1.0"

#endif
