#!/bin/bash
set -euo pipefail
ip netns add exhello-demo
ip -n exhello-demo link set lo up
