#!/bin/sh
# Entrypoint of the `synapse` service in docker-compose.yml.
#
# Runs as root inside the official matrixdotorg/synapse image, prepares the
# data volume, then hands over to the image's own /start.py, which drops
# privileges to uid/gid 991 (or $UID/$GID) with gosu and starts Synapse with the
# arguments given as the compose `command`:
#
#   entrypoint.sh run --config-path /config/homeserver.yaml --config-path /config/compose.yaml
#
# Idempotent: on later starts it only checks that everything exists. It never
# overwrites an existing secret or key.
set -eu

if [ "${1:-run}" != "run" ]; then
    # Other modes of the image (e.g. `generate`) go straight to /start.py.
    exec /start.py "$@"
fi
shift

owner="${UID:-991}:${GID:-991}"

# A fresh named volume is owned by root; Synapse runs as $owner.
mkdir -p /data/media_store
chown "$owner" /data /data/media_store

# Secrets Synapse reads from *_path options but does not generate itself.
# 0600, random, created once.
for name in macaroon_secret_key form_secret; do
    if [ ! -s "/data/$name" ]; then
        echo "entrypoint: generating /data/$name"
        gosu "$owner" sh -c "umask 077; python -c 'import secrets; print(secrets.token_urlsafe(48))' > /data/$name"
    fi
done

# Signing key and registration shared secret: Synapse generates the missing
# ones itself (--generate-keys reads the same config files and exits; it does
# not connect to the database).
gosu "$owner" sh -c 'umask 077; exec python -m synapse.app.homeserver "$@" --generate-keys' sh "$@"

exec /start.py run "$@"
