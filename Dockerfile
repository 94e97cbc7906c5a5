# One image for every Bytebot service (deploy/kubernetes runs it as `bytebot serve <name>`).
#   docker build -t bytebot .
#   docker run --rm -p 50053:50053 -p 9466:9466 -e BYTEBOT_GRPC_HOST=0.0.0.0 \
#     -e BYTEBOT_HTTP_HOST=0.0.0.0 -e BYTEBOT_AUTH_MODE=token \
#     -e BYTEBOT_TOKENS_FILE=/run/tokens -v "$PWD/tokens:/run/tokens:ro" bytebot serve computer
# (a server on a non-loopback address refuses to start without authentication unless
# BYTEBOT_INSECURE_ALLOW_OPEN=true; tokens: `python -m libs.security.tokens SUBJECT ROLES`)
# Runs as the non-root user 10001 with a read-only root filesystem in Kubernetes: everything
# written at run time goes to /tmp and $HOME (emptyDirs there).

# --- build: wheels for the project and its dependencies (tesserocr compiles against
# libtesseract when no wheel fits) ----------------------------------------------------------
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential pkg-config libtesseract-dev libleptonica-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY libs/ libs/
COPY services/ services/
COPY protos/ protos/
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[ocr]"

# --- runtime ---------------------------------------------------------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/home/bytebot
# Xvfb: the computer service's own display; tesseract + English data: the CPU OCR backend;
# fonts: text on the virtual desktop that OCR can read.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        xvfb xauth x11-utils \
        tesseract-ocr tesseract-ocr-eng \
        fonts-dejavu-core fonts-liberation \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 bytebot \
    && useradd --uid 10001 --gid 10001 --home-dir /home/bytebot --create-home \
        --shell /usr/sbin/nologin bytebot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels "bytebot-backend[ocr]" \
    && rm -rf /wheels
USER 10001:10001
WORKDIR /home/bytebot
# gRPC 50051-50055, HTTP ops (/metrics, /health/*) 9464-9468; one service per container.
EXPOSE 50051 50052 50053 50054 50055 9464 9465 9466 9467 9468
ENTRYPOINT ["bytebot"]
CMD ["--help"]
