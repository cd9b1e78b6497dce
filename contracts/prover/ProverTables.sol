// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ProverCold} from "./ProverCold.sol";

/// @title One step of a table or segment instruction: table.get/set/size, TableGrow, TableFill,
/// TableCopy, TableInit, SegmentDrop (elem.drop, data.drop), MemoryInit (docs/STATE.md §3, §4.1),
/// on a pre-state checked by ProverCold._parseCold (TABLES parsed into EA / EB).
abstract contract ProverTables is ProverCold {
    /// Executes the instruction `op` and returns the post root.
    function _stepTables(uint256 op) internal pure {
        uint256 pc = _pc();
        uint256 depth = _depth();
        if (op == 0x25) {
            // table.get: the reference in bytes 24..27 of the element leaf
            assembly ("memory-safe") {
                mstore(R_OUT, and(shr(32, calldataload(mload(add(EA, E_LEAF)))), M32))
            }
            _finish(pc + 1, 1, depth, 0);
        } else if (op == 0xf3) {
            // table.size
            assembly ("memory-safe") {
                mstore(R_OUT, mload(add(EA, E_LEN)))
            }
            _finish(pc + 1, 1, depth, 0);
        } else if (op == 0xf4) {
            _tableGrow();
            _finish(pc + 1, 4, depth, 0);
        } else if (op == 0xf8) {
            // elem.drop / data.drop: the entry becomes (0, Z[0])
            assembly ("memory-safe") {
                mstore(add(EA, E_LEN), 0)
                mstore(add(EA, E_ROOT), 0)
            }
            _setTablesRoot(_tablesRoot(_entryLeaf(EA), 0));
            _finish(pc + 1, 0, depth, 0);
        } else if (op == 0xf9) {
            // memory.init: one chunk of the data segment's leaf into the memory leaf, as input_read
            if (_count() != 0) _initChunk();
            _resumeOrFinish();
        } else if (op == 0x26) {
            // table.set: the element becomes the FUNC leaf (or null)
            _writeElement(EA, _funcLeaf());
            _finish(pc + 1, 0, depth, 0);
        } else {
            // resumable TableFill [i, ref, n], TableCopy / TableInit [d, s, n]: one element a step
            uint256 n = _count();
            if (n == 0) _finish(pc + 1, 0, depth, 0);
            _moveElement(op, n);
            uint256 nOut;
            assembly ("memory-safe") {
                if gt(n, 1) {
                    nOut := 3
                    let vals := mload(R_VALS)
                    let v0 := shr(192, calldataload(vals))
                    let v1 := shr(192, calldataload(add(vals, 8)))
                    switch op
                    case 0xf5 {
                        mstore(R_OUT, and(add(v0, 1), M32))
                        mstore(add(R_OUT, 32), v1)
                    }
                    default {
                        switch and(eq(op, 0xf6), gt(and(v0, M32), and(v1, M32)))
                        case 1 {
                            // backwards: the range's ends stay where they are
                            mstore(R_OUT, v0)
                            mstore(add(R_OUT, 32), v1)
                        }
                        default {
                            mstore(R_OUT, and(add(v0, 1), M32))
                            mstore(add(R_OUT, 32), and(add(v1, 1), M32))
                        }
                    }
                    mstore(add(R_OUT, 64), sub(n, 1))
                }
            }
            _finish(nOut == 0 ? pc + 1 : pc, nOut, depth, 0);
        }
    }

    /// TableGrow [init, n] -> [old, old, init, n (0 for a null init)], or [-1, 0, 0, 0] past the
    /// ceiling (b); the elements root gains zero subtrees up to depthOf(old + n).
    function _tableGrow() private pure {
        uint256 len;
        uint256 n;
        uint256 init;
        uint256 ceiling;
        assembly ("memory-safe") {
            len := mload(add(EA, E_LEN))
            let vals := mload(R_VALS)
            init := and(shr(192, calldataload(vals)), M32)
            n := and(shr(192, calldataload(add(vals, 8))), M32)
            ceiling := mload(R_B)
        }
        if (len + n > ceiling) {
            assembly ("memory-safe") {
                mstore(R_OUT, M32)
                mstore(add(R_OUT, 32), 0)
                mstore(add(R_OUT, 64), 0)
                mstore(add(R_OUT, 96), 0)
            }
            return;
        }
        uint256 len1 = len + n;
        bytes32 r;
        assembly ("memory-safe") {
            r := mload(add(EA, E_ROOT))
        }
        for (uint256 h = _depthFor(len); h < _depthFor(len1); h++) r = _node(r, _zero(h));
        assembly ("memory-safe") {
            mstore(add(EA, E_LEN), len1)
            mstore(add(EA, E_ROOT), r)
            mstore(R_OUT, len)
            mstore(add(R_OUT, 32), len)
            mstore(add(R_OUT, 64), init)
            mstore(add(R_OUT, 96), mul(n, iszero(iszero(init))))
        }
        _setTablesRoot(_tablesRoot(_entryLeaf(EA), 0));
    }

    /// The leaf a table.set / table.fill stores: the FUNC leaf, or the zero leaf for null.
    function _funcLeaf() private pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            let at := mload(R_FUNC)
            if at { leaf := calldataload(at) }
        }
    }

    /// One element of TableFill / TableCopy / TableInit: the destination table's element (d, or
    /// d + n - 1 for a backward copy) gets the source element (as before the step) or the FUNC leaf.
    function _moveElement(uint256 op, uint256 n) private pure {
        bytes32 value;
        uint256 x;
        uint256 dst;
        assembly ("memory-safe") {
            let vals := mload(R_VALS)
            let d := and(shr(192, calldataload(vals)), M32)
            let s := and(shr(192, calldataload(add(vals, 8))), M32)
            // the destination entry (immediate a) and the other one (the source of a copy between two)
            x := EA
            if iszero(eq(mload(add(EA, E_IDX)), mload(R_A))) { x := EB }
            let y := x
            if mload(R_TWO) { y := xor(x, xor(EA, EB)) }
            dst := d
            let src := s
            if and(eq(op, 0xf6), gt(d, s)) {
                dst := sub(add(d, n), 1)
                src := sub(add(s, n), 1)
            }
            if iszero(eq(op, 0xf5)) {
                let leaf := mload(add(y, E_LEAF))
                if iszero(eq(mload(add(y, E_P)), src)) { leaf := add(leaf, 32) }
                value := calldataload(leaf)
            }
        }
        if (op == 0xf5) value = _funcLeaf();
        _writeElementAt(x, dst, value);
    }

    /// Element p of entry e (its only open element) becomes `leaf`.
    function _writeElement(uint256 e, bytes32 leaf) private pure {
        _writeElementAt(e, _field(e, E_P), leaf);
    }

    /// Element `i` (one of the open ones) of entry e becomes `leaf`; the entry, tables, aux and cold
    /// hashes follow.
    function _writeElementAt(uint256 e, uint256 i, bytes32 leaf) private pure {
        uint256 p = _field(e, E_P);
        uint256 q = _field(e, E_Q);
        uint256 at = _field(e, E_PROOF);
        uint256 d = _field(e, E_D);
        bytes32 root;
        if (p == q) root = _climb(leaf, p, at, d);
        else {
            bytes32 lp;
            bytes32 lq;
            assembly ("memory-safe") {
                let o := mload(add(e, E_LEAF))
                lp := calldataload(o)
                lq := calldataload(add(o, 32))
            }
            if (i == p) lp = leaf;
            else lq = leaf;
            root = _climb2(lp, lq, p, q, at, d);
        }
        assembly ("memory-safe") {
            mstore(add(e, E_ROOT), root)
        }
        bytes32 ha = _entryLeaf(EA);
        bytes32 hb;
        if (_field(0, R_TWO) != 0) hb = _entryLeaf(EB);
        _setTablesRoot(_tablesRoot(ha, hb));
    }

    function _setTablesRoot(bytes32 root) private pure {
        assembly ("memory-safe") {
            mstore(TABLE, root)
        }
        _rehashAuxCold();
    }

    /// One chunk of memory.init [dst, off, n]: data segment leaf (entry a's) -> memory leaf.
    function _initChunk() private pure {
        bytes32 leaf;
        assembly ("memory-safe") {
            let vals := mload(R_VALS)
            let dst := and(shr(192, calldataload(vals)), M32)
            let off := and(shr(192, calldataload(add(vals, 8))), M32)
            let c := mload(R_CHUNK)
            let m := not(shr(shl(3, c), not(0)))
            let seg := and(shl(shl(3, and(off, 31)), calldataload(mload(add(EA, E_LEAF)))), m)
            let dOff := shl(3, and(dst, 31))
            leaf := or(and(calldataload(mload(R_MLEAF)), not(shr(dOff, m))), shr(dOff, seg))
        }
        bytes32 root = _climb(leaf, _field(0, R_MEMP), _field(0, R_MPROOF), _field(0, R_MEMD));
        assembly ("memory-safe") {
            mstore(MEMROOT, root)
        }
        _rehashCold();
    }
}
