#!/usr/bin/env bash
# A one-node Slurm on this machine for the executor test on Slurm through dask-jobqueue
# (tests/test_executors_slurm.py). Installs Debian's slurm-wlm when it is missing (apt-get
# update only when the install needs it), then starts what is not running: munge (with the key
# the package made, or one made here once), slurmctld and slurmd, both as root, with a config
# generated outside the clone into ${MLOPS_SLURM_DIR:-~/.cache/jupyter-mlops/slurm} (state,
# logs, pid files and the record of ended jobs beside it). The node is this machine as
# `slurmd -C` sees it (CPUs, memory), in one partition, "debug". What works without systemd
# and cgroups: processes tracked through /proc (proctrack/linuxproc), no task plugin.
#
# Usage: scripts/slurm.sh [--print]
# Prints SLURM_CONF=PATH when Slurm answers (what the test and `sinfo` need), and one line on
# stderr saying whether it is up. With --print nothing is installed or started. Exits 1 when
# Slurm is not up. A second run with Slurm up only asks it (`scontrol ping`, `sinfo`).
# Here: from nothing (apt-get update, download and install of 9 packages, then start) 7 s;
# installed but stopped (a new session) 0.2 to 2.4 s; already up 0.05 s.
set -euo pipefail
DIR="${MLOPS_SLURM_DIR:-${MLOPS_CACHE:-$HOME/.cache/jupyter-mlops}/slurm}"
export SLURM_CONF="$DIR/slurm.conf"  # what sinfo, sbatch and the daemons read
PARTITION=debug

start=1
case "${1:-}" in
  --print) start=0 ;;
  "") ;;
  *) echo "usage: $0 [--print]" >&2; exit 2 ;;
esac

up() {  # the partition's node answers and can take jobs
  [ -f "$SLURM_CONF" ] && command -v sinfo >/dev/null || return 1
  scontrol ping >/dev/null 2>&1 || return 1  # at once (sinfo waits 9 s for a controller)
  timeout 10 sinfo -h -p "$PARTITION" -o %T 2>/dev/null |
    grep -qxE 'idle|mixed|allocated|completing'
}

down() {  # why Slurm is not up
  if ! command -v sinfo >/dev/null; then echo "slurm-wlm is not installed"
  elif [ ! -f "$SLURM_CONF" ]; then echo "never started here: no $SLURM_CONF"
  elif ! scontrol ping >/dev/null 2>&1; then echo "slurmctld does not answer"
  else echo "the node is not up: $(sinfo -h -p "$PARTITION" -o '%T %E' 2>&1 | tail -n 1)"
  fi
}

report() {  # report [WHY]: the line saying whether Slurm is up; SLURM_CONF=... when it is
  if up; then
    local node
    node=$(sinfo -h -p "$PARTITION" -o '%N: %c CPUs, %m MB, %T')
    echo "slurm: up ($(sinfo -V), partition $PARTITION, node $node)" >&2
    echo "SLURM_CONF=$SLURM_CONF"
  else
    echo "slurm: NOT up (${1:-$(down)})" >&2
    return 1
  fi
}

if [ "$start" = 0 ] || up; then
  report
  exit
fi
if [ "$(id -u)" != 0 ]; then
  report "not root: scripts/slurm.sh installs slurm-wlm and runs slurmd as root"
  exit
fi

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9  # two checkouts starting it at once: the second waits, then finds it up
# (every daemon below starts with descriptor 9 closed, or it would hold the lock for good)
if up; then report; exit; fi

# 1. the packages (without their recommends: the plugins for GPUs, HDF5, InfluxDB, ...)
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
   ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || { report "slurm-wlm is not installed and there is no apt-get"; exit; }
  : >"$DIR/apt.log"
  apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm \
      >>"$DIR/apt.log" 2>&1
  }
  if ! apt_install; then  # the package lists are missing or stale: update them, once
    apt-get update -qq >>"$DIR/apt.log" 2>&1 || true
    apt_install || { tail -n 5 "$DIR/apt.log" >&2; report "apt-get install slurm-wlm failed"; exit; }
  fi
fi

# 2. munge, as its own user (as its service runs it), with a key made once
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [ ! -s /etc/munge/munge.key ]; then
    runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- munged 9>&-
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

# 3. the config: this machine as slurmd sees it, one partition
stop() {  # stop NAME: the daemon this script started before (by its pid file), if alive
  local pid
  pid=$(cat "$DIR/$1.pid" 2>/dev/null) || return 0
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]; then
    kill "$pid"
    for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  fi
  rm -f "$DIR/$1.pid"
}
stop slurmd  # half up (a daemon left from before, an older config): start both afresh
stop slurmctld
node=$(hostname -s)
hardware=$(slurmd -C | head -1 | sed -e "s/^NodeName=[^ ]* //" -e 's/ *UpTime=.*//')
mkdir -p "$DIR/ctld" "$DIR/d"
cat >"$SLURM_CONF" <<EOF
# written by jupyter-mlops scripts/slurm.sh: a one-node Slurm for the tests
ClusterName=mlops
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/d
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
# no systemd, no cgroups here: processes are tracked through /proc
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# no accounting database (no sacct): ended jobs are written to a file instead
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobs.log
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
ReturnToService=2
# a cancelled job's processes are killed 5 s after SIGTERM; ended jobs stay listed for 5
# minutes (squeue --states=all, scontrol show job)
KillWait=5
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 $hardware State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

# 4. the daemons (each forks into the background; -c: jobs of a previous session are gone)
slurmctld -f "$SLURM_CONF" -c 9>&-
slurmd -f "$SLURM_CONF" -N "$node" 9>&-
for _ in $(seq 150); do
  up && break
  sleep 0.2
done
if ! up; then
  tail -n 5 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2 || true
  sinfo -R >&2 || true
fi
report "the daemons started but the node did not come up in 30 s: logs in $DIR"
