# syntax=docker/dockerfile:1.7
# churn-mlops: one image for the HTTP service (the default command) and every task.
#
#   docker build -t churn-mlops:0.1.0 .
#   docker run --rm -v churn-data:/app/data -v churn-artifacts:/app/artifacts churn-mlops:0.1.0 task pipeline
#   docker run -d -p 8000:8000 -v churn-data:/app/data -v churn-artifacts:/app/artifacts churn-mlops:0.1.0
#   docker run --rm ... churn-mlops:0.1.0 task drift        (any task: task <name> [flags]; task --help lists them)
#
# The Wasm kernels are the committed wasm/*.wasm files: no compiler runs here (wasm/build.ts and the
# AssemblyScript sources are not even in the build context, see .dockerignore).
FROM denoland/deno:debian-2.9.6

# DENO_DIR holds every dependency, downloaded at build time; at run time it is read-only (Kubernetes runs
# the container with a read-only root filesystem) and --cached-only keeps Deno off the network.
ENV DENO_DIR=/deno-dir \
    DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1 \
    NO_COLOR=1 \
    CHURN_APP_DIR=/app

WORKDIR /app

# 1. Dependencies, from deno.json and deno.lock alone: this layer is rebuilt only when they change.
COPY deno.json deno.lock ./
RUN deno install --frozen

# 2. The program. Cache its module graph and prove that it loads offline (this imports the Wasm modules).
COPY . .
RUN deno cache --frozen main.ts \
    && deno run --cached-only -A main.ts --help >/dev/null \
    && test -x /tini \
    && mkdir -p /app/data /app/artifacts \
    && chown 1993:1993 /app/data /app/artifacts

# The entry point: `serve` (the default), `task <name> [flags]`, `healthcheck`, or any other command.
COPY --chmod=755 <<'EOF' /usr/local/bin/churn-entrypoint
#!/bin/sh
# churn-mlops container entry point. PID 1 is tini, which forwards signals to Deno.
#   serve [flags]          the HTTP service: deno run -A main.ts serve [flags]
#   task <name> [flags]    any task:         deno run -A main.ts <name> [flags]
#   healthcheck            exit 0 when GET /live answers 2xx (CHURN_HEALTHCHECK_URL overrides the URL)
#   anything else          runs as a command (deno ..., sh ...)
set -eu
cd "${CHURN_APP_DIR:-/app}"
cmd="${1:-serve}"
if [ $# -gt 0 ]; then shift; fi
case "$cmd" in
  serve)
    exec deno run --cached-only -A main.ts serve "$@"
    ;;
  task)
    if [ $# -eq 0 ]; then
      echo "Usage: task <name> [flags]   (task --help lists the tasks)" >&2
      exit 2
    fi
    exec deno run --cached-only -A main.ts "$@"
    ;;
  healthcheck)
    exec deno eval --quiet '
      const url = Deno.env.get("CHURN_HEALTHCHECK_URL") ?? "http://127.0.0.1:8000/live";
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(4000) });
        await r.body?.cancel();
        if (!r.ok) console.error(`${url} answered ${r.status}`);
        Deno.exit(r.ok ? 0 : 1);
      } catch (e) {
        console.error(`${url} unreachable: ${e.message}`);
        Deno.exit(1);
      }'
    ;;
  *)
    exec "$cmd" "$@"
    ;;
esac
EOF

# The deno user of the base image, by number so that Kubernetes can verify runAsNonRoot.
USER 1993:1993
EXPOSE 8000
# Data and artifacts are relative paths under /app by default: mount volumes there (Kubernetes mounts one
# volume at /data instead and points the paths at it, see k8s/base/kubernetes.yaml).
VOLUME ["/app/data", "/app/artifacts"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/churn-entrypoint", "healthcheck"]
ENTRYPOINT ["/tini", "--", "/usr/local/bin/churn-entrypoint"]
CMD ["serve"]
