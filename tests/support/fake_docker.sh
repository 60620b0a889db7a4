#!/bin/sh
log="$FAKE_DOCKER_LOG"
printf 'call\n' >>"$log"
for arg in "$@"; do printf 'arg %s\n' "$arg" >>"$log"; done
case "$1 $2" in
  "version "*) echo 28.2.2 ;;
  "buildx version")
    if [ -n "$FAKE_DOCKER_NO_BUILDX" ]; then echo "docker: unknown command: docker buildx" >&2; exit 1; fi
    echo "github.com/docker/buildx v0.23.0" ;;
  "login "*) printf 'stdin %s\n' "$(cat)" >>"$log"; echo "Login Succeeded" ;;
  "buildx build")
    echo "#1 [internal] load build definition from Dockerfile"
    echo "#2 [build 1/9] FROM docker.io/library/rust" >&2
    tag=""; previous=""
    for arg in "$@"; do [ "$previous" = "--tag" ] && tag="$arg"; previous="$arg"; done
    if [ -n "$FAKE_DOCKER_BUILD_HOOK" ]; then $FAKE_DOCKER_BUILD_HOOK "$tag" || exit 3; fi
    exit "${FAKE_DOCKER_BUILD_EXIT:-0}" ;;
  *) echo "fake docker: unexpected call: $*" >&2; exit 2 ;;
esac
