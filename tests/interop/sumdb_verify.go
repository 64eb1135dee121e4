// An independent check of flopline's ledger output: the Go module mirror's own verifier
// (golang.org/x/mod/sumdb/note for signed notes, golang.org/x/mod/sumdb/tlog for RFC 6962 / 9162
// Merkle proofs), from Debian's golang-golang-x-mod-dev, written by people who never saw our code.
//
// usage: sumdb_verify VKEY_FILE CHECKPOINT_FILE PROOFS_JSONL
//
// Opens the checkpoint with the key, then checks every line of PROOFS_JSONL: an inclusion proof
// ({"index","tree_size","leaf","hashes","root"}) or a consistency proof ({"from","to","hashes",
// "old_root","new_root"}) exactly as `flopline ledger prove|consistency --format json` print them.
// A proof for the checkpoint's tree size must also carry the checkpoint's root. Exit 0 when all
// verify; 1 with the first failure otherwise.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type proof struct {
	Index    *int64   `json:"index"`
	TreeSize int64    `json:"tree_size"`
	Leaf     string   `json:"leaf"`
	Hashes   []string `json:"hashes"`
	Root     string   `json:"root"`
	From     int64    `json:"from"`
	To       int64    `json:"to"`
	OldRoot  string   `json:"old_root"`
	NewRoot  string   `json:"new_root"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "sumdb_verify: "+format+"\n", args...)
	os.Exit(1)
}

func hash(s string) tlog.Hash {
	h, err := tlog.ParseHash(s)
	if err != nil {
		fail("bad hash %q: %v", s, err)
	}
	return h
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		out[i] = hash(s)
	}
	return out
}

func main() {
	if len(os.Args) != 4 {
		fail("usage: sumdb_verify VKEY_FILE CHECKPOINT_FILE PROOFS_JSONL")
	}
	vkey, _ := os.ReadFile(os.Args[1])
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		fail("verifier key: %v", err)
	}
	msg, _ := os.ReadFile(os.Args[2])
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint text has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root := hash(lines[2])

	f, err := os.Open(os.Args[3])
	if err != nil {
		fail("%v", err)
	}
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	count := 0
	for scanner.Scan() {
		var p proof
		if err := json.Unmarshal(scanner.Bytes(), &p); err != nil {
			fail("line %d: %v", count+1, err)
		}
		if p.Index != nil {
			leaf, err := base64.StdEncoding.DecodeString(p.Leaf)
			if err != nil {
				fail("leaf: %v", err)
			}
			th := hash(p.Root)
			if p.TreeSize == size && th != root {
				fail("inclusion proof of %d: root differs from the signed checkpoint", *p.Index)
			}
			if err := tlog.CheckRecord(hashes(p.Hashes), p.TreeSize, th, *p.Index, tlog.RecordHash(leaf)); err != nil {
				fail("inclusion proof of %d in %d: %v", *p.Index, p.TreeSize, err)
			}
		} else {
			oldRoot, newRoot := hash(p.OldRoot), hash(p.NewRoot)
			if p.To == size && newRoot != root {
				fail("consistency %d..%d: new root differs from the signed checkpoint", p.From, p.To)
			}
			if err := tlog.CheckTree(hashes(p.Hashes), p.To, newRoot, p.From, oldRoot); err != nil {
				fail("consistency %d..%d: %v", p.From, p.To, err)
			}
		}
		count++
	}
	fmt.Printf("sumdb_verify: checkpoint of %d entries signed by %s; %d proofs verified\n", size, verifier.Name(), count)
}
