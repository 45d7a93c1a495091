#!/bin/sh
# Temporal made ready for the pizzeria, by docker-compose.yml's temporal-setup job (the temporalio/admin-tools image):
# the namespace TEMPORAL_NAMESPACE with the retention PIZZERIA_TEMPORAL_RETENTION, then the search attributes ops
# filter orders by (workflows/order_contract.py names them). Every step leaves what exists as it is, so the job may
# run on every `docker compose up`; a changed retention is applied to the namespace that exists.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${PIZZERIA_TEMPORAL_RETENTION:?}"

# A step tried for up to a minute: the server answers before all its parts are up, and a namespace just made takes
# a few seconds to be known everywhere.
retry() {
    tries=1
    until "$@"; do
        [ "$tries" -lt 30 ] || { echo "temporal-setup: gave up on: $*" >&2; return 1; }
        tries=$((tries + 1))
        sleep 2
    done
}

retry temporal operator cluster health
if temporal operator namespace describe -n "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
    retry temporal operator namespace update -n "$TEMPORAL_NAMESPACE" --retention "$PIZZERIA_TEMPORAL_RETENTION"
else
    temporal operator namespace create -n "$TEMPORAL_NAMESPACE" --retention "$PIZZERIA_TEMPORAL_RETENTION"
fi
# One call per name: the CLI registers only the first of several. One that exists with its type is left as it is.
for attribute in OrderStatus=Keyword OrderTotal=Double Fulfilment=Keyword PaymentMethod=Keyword \
    DeliveryOutcome=Keyword DispatchLate=Bool; do
    retry temporal operator search-attribute create -n "$TEMPORAL_NAMESPACE" --name "${attribute%=*}" --type "${attribute#*=}"
done
