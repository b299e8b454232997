#!/bin/sh
# docker-compose.yml's `redis-cluster-init`: makes the six nodes in CLUSTER_NODES one cluster (the first three
# masters, one replica each), once. On a later start the nodes already know each other (nodes.conf on their
# volumes), so it only waits for every slot to be served.
set -eu
first=${CLUSTER_NODES%% *}
host=${first%:*}
port=${first#*:}

state() { redis-cli -h "$host" -p "$port" cluster info | tr -d '\r' | sed -n 's/^cluster_state://p'; }
known() { redis-cli -h "$host" -p "$port" cluster info | tr -d '\r' | sed -n 's/^cluster_known_nodes://p'; }

if [ "$(known)" = "1" ]; then
  echo "creating the Redis Cluster over: $CLUSTER_NODES"
  # shellcheck disable=SC2086 # one argument per node
  redis-cli --cluster create $CLUSTER_NODES --cluster-replicas 1 --cluster-yes
else
  echo "the nodes already form a cluster ($(known) known nodes)"
fi

# Ready when every slot is served (at most 60 s).
i=0
until [ "$(state)" = "ok" ]; do
  i=$((i + 1))
  if [ "$i" -gt 120 ]; then
    echo "the cluster did not reach cluster_state:ok" >&2
    exit 1
  fi
  sleep 0.5
done
echo "cluster_state:ok"
