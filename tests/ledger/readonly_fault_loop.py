#!/usr/bin/env python3
# The read-only finding's reproduction (docs/reliability.md "Ledger: full disk and read-only
# files"): the soak's read-only case as a loop, outside gtest, keeping what a loss leaves. Each
# round: a fresh 16 MiB ext4 image mounted errors=remount-ro, an initialised store copied in,
# ledger_writer (4 threads) appending, trigger_fs_error after a random 1-300 acknowledgements, the
# writer left to fail, umount, e2fsck -fy, mount, and every acknowledged index checked for its leaf
# hash. A loss keeps the image before and after the repair, the acknowledgements, e2fsck's output,
# and with --trace the kernel's ext4/jbd2 trace of the round (tracefs instance "flopline-ro";
# the trace shows the last fdatasync that returned 0 and the journal's abort).
# Needs root. Not part of any test run.
#
#   tests/ledger/readonly_fault_loop.py WRITER FLOPLINE ROUNDS DIR [--seed N] [--trace]
#   e.g. tests/ledger/readonly_fault_loop.py build-asan/tests/ledger_writer build-asan/flopline 30 /tmp/ro-loop
import argparse, os, random, select, shutil, sqlite3, subprocess, time

parser = argparse.ArgumentParser()
parser.add_argument("writer"); parser.add_argument("flopline"); parser.add_argument("rounds", type=int)
parser.add_argument("dir"); parser.add_argument("--seed", type=int, default=1); parser.add_argument("--trace", action="store_true")
args = parser.parse_args()
os.makedirs(args.dir, exist_ok=True)
mnt = f"{args.dir}/mnt"; os.makedirs(mnt, exist_ok=True)
template = f"{args.dir}/template.db"
trace = "/sys/kernel/tracing/instances/flopline-ro"


def sh(command, check=True):
    r = subprocess.run(command, shell=True, capture_output=True, text=True)
    if check and r.returncode != 0: raise RuntimeError(f"{command}: {r.stdout}{r.stderr}")
    return r


def entries(path, read_only=False):
    c = sqlite3.connect(f"file:{path}" + ("?mode=ro" if read_only else ""), uri=True)
    rows = dict(c.execute("SELECT idx, lower(hex(leaf_hash)) FROM entries").fetchall())
    c.close()
    return rows


if not os.path.exists(template):
    sh(f"{args.flopline} ledger init --store sqlite:{template} --origin soak.example/ledger")
if args.trace:
    if not os.path.exists("/sys/kernel/tracing/instances"): sh("mount -t tracefs nodev /sys/kernel/tracing")
    os.makedirs(trace, exist_ok=True)
    for event in ("ext4/ext4_sync_file_enter", "ext4/ext4_sync_file_exit", "ext4/ext4_writepages_result",
                  "ext4/ext4_da_write_pages_extent", "jbd2/jbd2_start_commit", "jbd2/jbd2_end_commit",
                  "jbd2/jbd2_handle_start", "printk/console"):
        open(f"{trace}/events/{event}/enable", "w").write("1")
rnd = random.Random(args.seed)
losses = 0
for r in range(args.rounds):
    # A fresh image file each round: the kernel may keep an errored file system a moment after its
    # umount, and `mount -o loop` of the same file would reuse it.
    img = f"{args.dir}/round-{r}.img"
    sh(f"truncate -s 16M {img} && mkfs.ext4 -q -F {img} && mount -o loop,errors=remount-ro {img} {mnt}")
    shutil.copy(template, f"{mnt}/evidence.db")
    sh(f"sync -f {mnt}/evidence.db")
    n = 1 + rnd.randrange(300)
    if args.trace: open(f"{trace}/trace", "w").write("")
    p = subprocess.Popen([args.writer, f"sqlite:{mnt}/evidence.db", "0", "4"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    acks, pending, triggered, started = {}, b"", False, time.time()
    while True:
        if not triggered and len(acks) >= n:
            device = sh(f"basename $(findmnt -n -o SOURCE {mnt})").stdout.strip()
            open(f"/sys/fs/ext4/{device}/trigger_fs_error", "w").write("1")
            triggered = True
        ready, _, _ = select.select([p.stdout], [], [], 1.0)
        if ready:
            data = os.read(p.stdout.fileno(), 65536)
            if not data: break
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                parts = line.split()
                if len(parts) == 3: acks[int(parts[0])] = parts[1].decode()
        if time.time() - started > 120: p.kill()
    error = p.stderr.read().decode().strip()
    p.wait()
    before = entries(f"{mnt}/evidence.db", read_only=True)
    missing_before = sum(1 for i in acks if before.get(i) != acks[i])
    sh(f"umount {mnt}")
    shutil.copy(img, f"{args.dir}/pre-repair.img")
    fsck = sh(f"e2fsck -fy {img}", check=False)
    shutil.copy(img, f"{args.dir}/post-repair.img")
    sh(f"mount -o loop {img} {mnt}")
    after = entries(f"{mnt}/evidence.db")
    missing = sorted(i for i in acks if after.get(i) != acks[i])
    sh(f"umount {mnt}")
    os.remove(img)
    print(f"round {r}: trigger after {n} acknowledgements, {len(acks)} acknowledged; writer: {error}; "
          f"missing on the read-only mount {missing_before}, after the repair {len(missing)} {missing[:8]}", flush=True)
    if missing:
        losses += 1
        keep = f"{args.dir}/loss-{r}"
        os.makedirs(keep, exist_ok=True)
        for name in ("pre-repair.img", "post-repair.img"): shutil.move(f"{args.dir}/{name}", keep)
        with open(f"{keep}/acks.txt", "w") as f:
            for i in sorted(acks): f.write(f"{i} {acks[i]}\n")
        open(f"{keep}/e2fsck.txt", "w").write(fsck.stdout + fsck.stderr)
        if args.trace: shutil.copy(f"{trace}/trace", f"{keep}/trace.txt")
print(f"{losses} rounds of {args.rounds} lost an acknowledged append", flush=True)
