#!/bin/sh
# After the Temporal server answers: our namespace and our search attributes
# (ONETHING_SEARCH_ATTRIBUTES, "Name=Type ..."; tests/test_compose.py keeps the list equal to
# workflows/search_attributes.py). Safe to run on every `docker compose up`.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${ONETHING_SEARCH_ATTRIBUTES:?}"

tries=0
until temporal operator cluster health >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS did not answer in 2 minutes" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" \
    --retention "${TEMPORAL_RETENTION:-90d}" \
    --description "onething: applications of the service center"
fi

# A new namespace reaches the frontend's namespace cache some seconds after its creation.
tries=0
until temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 120 ]; then
    echo "namespace $TEMPORAL_NAMESPACE did not become ready in 2 minutes" >&2
    exit 1
  fi
  sleep 1
done

for pair in $ONETHING_SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  type=${pair#*=}
  if out=$(temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" \
    --name "$name" --type "$type" 2>&1); then
    echo "search attribute $name ($type) registered"
  else
    case "$out" in
      *"already exists"*|*"already registered"*) echo "search attribute $name exists" ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
done
echo "namespace $TEMPORAL_NAMESPACE ready"
