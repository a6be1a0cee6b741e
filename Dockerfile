# ---- build ----------------------------------------------------------------
# Same Debian release as the runtime stage, so the binary's glibc matches.
FROM rust:1.95-slim-bookworm AS builder
WORKDIR /app

# Dependency layer: rebuilt only when Cargo.toml / Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
# Cargo refuses to parse a manifest whose [[bench]]/[[test]]/[[example]]/[[bin]]
# files are missing, so stub every target file it names (explicit `path`, or
# the default location for `name`), plus src/main.rs and src/lib.rs, build the
# dependencies, then delete the stubs so none of them leaks into the real build.
RUN awk ' \
      function flush() { \
        if (kind != "" && path == "" && name != "" && kind != "bin") path = dir[kind] name ".rs"; \
        if (path != "") print path; \
        kind = ""; name = ""; path = "" }; \
      function val(s, q) { sub(/^[^=]*=[ \t]*/, "", s); q = substr(s, 1, 1); s = substr(s, 2); \
        return substr(s, 1, index(s, q) - 1) }; \
      BEGIN { dir["bench"] = "benches/"; dir["test"] = "tests/"; dir["example"] = "examples/" }; \
      /^[ \t]*\[/ { flush(); \
        if ($0 ~ /^[ \t]*\[\[(bench|test|example|bin)\]\]/) { kind = $0; gsub(/[][ \t]/, "", kind) }; \
        next }; \
      kind != "" && /^[ \t]*name[ \t]*=/ { name = val($0) }; \
      kind != "" && /^[ \t]*path[ \t]*=/ { path = val($0) }; \
      END { flush(); print "src/main.rs"; print "src/lib.rs" }' Cargo.toml > /tmp/stubs \
 && while read -r f; do mkdir -p "$(dirname "$f")" && echo 'fn main() {}' > "$f"; done < /tmp/stubs \
 && : > src/lib.rs \
 && cargo build --release --locked --bin lotara \
 && xargs rm -f < /tmp/stubs

# Real sources. COPY keeps the files' old mtimes, which can look older than the
# stub build; touch them so cargo recompiles the crate instead of reusing it.
COPY . .
RUN find . -path ./target -prune -o -name '*.rs' -exec touch {} + \
 && cargo build --release --locked --bin lotara

# ---- runtime --------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates: the system trust store for outbound HTTPS (rustls-platform-verifier
# reads it). Not version-pinned: bookworm point/security releases replace the
# exact version, which would break the build; the Debian suite is the pin.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 lotara \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin lotara

COPY --from=builder /app/target/release/lotara /usr/local/bin/lotara

# Numeric uid so orchestrators can verify runAsNonRoot.
USER 10001:10001

ENV HOST=0.0.0.0 PORT=8000 LOG_FORMAT=json
EXPOSE 8000

# The binary probes its own /health; no curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/lotara", "healthcheck"]

# Explicit: the signal the service's graceful shutdown is expected to handle.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/lotara"]
CMD ["serve"]
