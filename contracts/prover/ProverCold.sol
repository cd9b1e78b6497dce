// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ProverBase} from "./ProverBase.sol";

/// @title Parse of the cold part (memInfo, AUX with GLOBALS/TABLES/INPUT/OUTPUT, FRAMES, MEM, FUNC)
/// and the helpers shared by the steps that open it (ProverMemory, ProverHost, ProverTables).
/// @dev Mirrors verify.ts from "COLD" to the root check, in the same order and with the same checks.
abstract contract ProverCold is ProverBase {
    /// Parses everything after the header (which must have been parsed, and the instruction must
    /// execute) and checks the pre root. Returns (trapping) when the step traps on a condition
    /// decided while parsing (undefined element, out-of-bounds memory or table, input/output bounds).
    function _parseCold(bytes32 preRoot) internal pure {
        _stack();
        _localsSealed();
        uint256 op = _op();
        uint256 info = _opInfo(op);
        uint256 o;
        uint256 memLen;
        uint256 memD;
        assembly ("memory-safe") {
            o := mload(R_O)
            function fail(s) {
                mstore(0, shl(224, s))
                revert(0, 4)
            }
            // memInfo: memPages u32 ‖ outLen u32
            let x := shr(192, calldataload(o))
            o := add(o, 8)
            if gt(o, mload(R_E)) { fail(ERR_TRUNCATED) }
            let pages := shr(32, x)
            if gt(pages, 65536) { fail(ERR_BADFIELD) }
            mstore(MEMINFO, or(shl(64, 0x11), x))
            memLen := shl(16, pages)
            mstore(R_O, o)
        }
        if (memLen != 0) memD = 11 + _depthFor(memLen >> 16);
        assembly ("memory-safe") {
            mstore(R_MEMD, memD)
        }
        if (info & INFO_AUX != 0) _parseAux(op, memLen);
        else {
            assembly ("memory-safe") {
                mstore(AUX, calldataload(o))
                mstore(R_O, add(o, 32))
            }
        }
        // FRAMES
        assembly ("memory-safe") {
            function fail(s) {
                mstore(0, shl(224, s))
                revert(0, 4)
            }
            o := mload(R_O)
            switch eq(op, 0xe7)
            case 1 {
                if gt(o, mload(R_E)) { fail(ERR_TRUNCATED) }
                if lt(and(shr(64, mload(REGS)), M32), 2) { fail(ERR_BADFIELD) }
                mstore(R_FRAMEAT, o)
                mstore8(SCR, 3)
                calldatacopy(add(SCR, 1), o, 68) // below ‖ callerLocalsRoot ‖ returnPc
                mstore(FRAMES, keccak256(SCR, 69))
                o := add(o, 68)
            }
            default {
                mstore(FRAMES, calldataload(o))
                o := add(o, 32)
            }
            mstore(R_O, o)
        }
        _parseMem(op, memLen, memD);
        uint256 trap;
        assembly ("memory-safe") {
            mstore(COLD, keccak256(add(MEMINFO, 23), 105))
            trap := mload(R_TRAP)
        }
        if (op == 0x26 || op == 0xf5) _parseFunc();
        _checkPre(preRoot);
        if (trap != 0) _trapped(trap);
    }

    /// AUX: limits ‖ GLOBALS ‖ TABLE ‖ INPUT ‖ OUTPUT.
    function _parseAux(uint256 op, uint256 memLen) internal pure {
        uint256 o;
        assembly ("memory-safe") {
            o := mload(R_O)
            mstore(LIMITS, or(shl(160, 0x12), shr(96, calldataload(o))))
            o := add(o, 20)
            mstore(R_O, o)
        }
        // GLOBALS
        if (op == 0x23 || op == 0x24) {
            uint256 a;
            uint256 b;
            assembly ("memory-safe") {
                a := mload(R_A)
                b := mload(R_B)
            }
            bytes32 g = _openValues(a, b);
            assembly ("memory-safe") {
                mstore(GLOBALS, g)
                o := mload(R_O)
            }
        } else {
            assembly ("memory-safe") {
                mstore(GLOBALS, calldataload(o))
                o := add(o, 32)
            }
        }
        // TABLES
        if (_isTableOp(op)) {
            assembly ("memory-safe") {
                mstore(R_O, o)
            }
            _parseTables(op, memLen);
            assembly ("memory-safe") {
                o := mload(R_O)
            }
        } else {
            assembly ("memory-safe") {
                mstore(TABLE, calldataload(o))
                o := add(o, 32)
            }
        }
        // INPUT
        bool open;
        if (op == 0xeb) {
            uint256 off;
            uint256 inputLen;
            assembly ("memory-safe") {
                let vals := mload(R_VALS)
                let dst := and(shr(192, calldataload(vals)), M32)
                off := and(shr(192, calldataload(add(vals, 8))), M32)
                let n := and(shr(192, calldataload(add(vals, 16))), M32)
                inputLen := and(mload(LIMITS), M32)
                switch gt(add(off, n), inputLen)
                case 1 { mstore(R_TRAP, T_INPUT) }
                default {
                    switch gt(add(dst, n), memLen)
                    case 1 { mstore(R_TRAP, T_OOB) }
                    default {
                        if n {
                            let c := n
                            let r := sub(32, and(dst, 31))
                            if lt(r, c) { c := r }
                            r := sub(32, and(off, 31))
                            if lt(r, c) { c := r }
                            mstore(R_CHUNK, c)
                            open := 1
                        }
                    }
                }
            }
            if (open) {
                uint256 d = _depthFor((inputLen + 31) >> 5);
                bytes32 leaf;
                assembly ("memory-safe") {
                    mstore(R_ILEAF, o)
                    leaf := calldataload(o)
                }
                bytes32 root = _climb(leaf, off >> 5, o + 32, d);
                assembly ("memory-safe") {
                    mstore(INPUT, root)
                    o := add(o, add(32, shl(5, d)))
                }
            }
        }
        if (!open) {
            assembly ("memory-safe") {
                mstore(INPUT, calldataload(o))
                o := add(o, 32)
            }
        }
        // OUTPUT
        open = false;
        if (op == 0xec) {
            uint256 outLen;
            uint256 outputLimit;
            assembly ("memory-safe") {
                let vals := mload(R_VALS)
                let src := and(shr(192, calldataload(vals)), M32)
                let n := and(shr(192, calldataload(add(vals, 8))), M32)
                outLen := and(mload(MEMINFO), M32)
                outputLimit := and(shr(32, mload(LIMITS)), M32)
                switch gt(add(src, n), memLen)
                case 1 { mstore(R_TRAP, T_OOB) }
                default {
                    switch gt(add(outLen, n), outputLimit)
                    case 1 { mstore(R_TRAP, T_OUTPUT) }
                    default {
                        if n {
                            let c := n
                            let r := sub(32, and(src, 31))
                            if lt(r, c) { c := r }
                            r := sub(32, and(outLen, 31))
                            if lt(r, c) { c := r }
                            mstore(R_CHUNK, c)
                            open := 1
                        }
                    }
                }
            }
            if (open) {
                uint256 d = _depthFor((outputLimit + 31) >> 5);
                bytes32 leaf;
                assembly ("memory-safe") {
                    mstore(R_OPROOF, add(o, 32))
                    mstore(R_ODEPTH, d)
                    leaf := calldataload(o)
                }
                bytes32 root = _climb(leaf, outLen >> 5, o + 32, d);
                assembly ("memory-safe") {
                    mstore(OUTPUT, root)
                    o := add(o, add(32, shl(5, d)))
                }
            }
        }
        if (!open) {
            assembly ("memory-safe") {
                mstore(OUTPUT, calldataload(o))
                o := add(o, 32)
            }
        }
        assembly ("memory-safe") {
            mstore(AUX, keccak256(add(LIMITS, 11), 149))
            mstore(R_O, o)
        }
    }

    // ================================================================================================
    // TABLES (docs/STATE.md §4): one entry (len ‖ ELEMS ‖ proof) or two (lenP ‖ lenQ ‖ ELEMS ‖ ELEMS ‖
    // proof2) of the tables tree; an entry's parse state lives at EA / EB (E_* fields).

    /// Table and segment instructions (they open TABLES): table.get/set (0x25, 0x26), CallIndirect
    /// (0xe6), TableSize .. MemoryInit (0xf3..0xf9).
    function _isTableOp(uint256 op) internal pure returns (bool r) {
        assembly ("memory-safe") {
            r := or(or(eq(op, 0x25), eq(op, 0x26)), or(eq(op, 0xe6), and(gt(op, 0xf2), lt(op, 0xfa))))
        }
    }

    /// Parses TABLES at R_O: the entries of the instruction, their lengths, the elements the step
    /// touches (none when it traps or moves nothing: R_TRAP, R_CHUNK), the roots; TABLE gets the
    /// tables root. Same decisions and checks, in the same order, as verify.ts parseTables.
    function _parseTables(uint256 op, uint256 memLen) internal pure {
        uint256 o;
        uint256 n2; // entries: 1 or 2
        assembly ("memory-safe") {
            function fail(s) {
                mstore(0, shl(224, s))
                revert(0, 4)
            }
            // the sections before (limits, GLOBALS) were read without a bound check: check it now,
            // before this section's own checks (verify.ts threw Truncated there)
            if gt(mload(R_O), mload(R_E)) { fail(ERR_TRUNCATED) }
            let a := mload(R_A)
            let b := mload(R_B)
            let c := mload(R_C)
            let e1 := a
            if eq(op, 0xe6) { e1 := b }
            let e2 := NONE
            if or(eq(op, 0xf7), and(eq(op, 0xf6), iszero(eq(a, b)))) { e2 := b }
            if or(iszero(lt(e1, c)), and(iszero(eq(e2, NONE)), iszero(lt(e2, c)))) { fail(ERR_BADFIELD) }
            o := mload(R_O)
            mstore(add(EA, E_P), NONE)
            mstore(add(EA, E_Q), NONE)
            mstore(add(EB, E_P), NONE)
            mstore(add(EB, E_Q), NONE)
            switch eq(e2, NONE)
            case 1 {
                n2 := 1
                mstore(add(EA, E_IDX), e1)
                mstore(add(EA, E_LEN), shr(224, calldataload(o)))
                o := add(o, 4)
            }
            default {
                n2 := 2
                let lo := e1
                let hi := e2
                if gt(e1, e2) {
                    lo := e2
                    hi := e1
                }
                mstore(add(EA, E_IDX), lo)
                mstore(add(EB, E_IDX), hi)
                mstore(add(EA, E_LEN), shr(224, calldataload(o)))
                mstore(add(EB, E_LEN), shr(224, calldataload(add(o, 4))))
                o := add(o, 8)
            }
            mstore(R_TWO, eq(n2, 2))
            mstore(R_O, o)
        }
        _entryDepth(EA, op);
        if (n2 == 2) _entryDepth(EB, op);
        _tableElements(op, memLen);
        _parseElems(EA);
        if (n2 == 2) _parseElems(EB);
        uint256 dN = _depthFor(_c());
        bytes32 root;
        assembly ("memory-safe") {
            o := mload(R_O)
            mstore(R_TPROOF, o)
            mstore(R_TN, dN)
        }
        bytes32 ha = _entryLeaf(EA);
        if (n2 == 1) {
            root = _climb(ha, _field(EA, E_IDX), o, dN);
            o += 32 * dN;
        } else {
            uint256 p = _field(EA, E_IDX);
            uint256 q = _field(EB, E_IDX);
            root = _climb2(ha, _entryLeaf(EB), p, q, o, dN);
            o += 32 * (dN + _bitlen(p ^ q) - 2);
        }
        assembly ("memory-safe") {
            if gt(o, mload(R_E)) {
                mstore(0, shl(224, ERR_TRUNCATED))
                revert(0, 4)
            }
            mstore(TABLE, root)
            mstore(R_O, o)
        }
    }

    /// Depth of an entry's elements tree: depthOf(len), or depthOf(ceil(len / 32)) for the data
    /// segment of MemoryInit (32-byte leaves of bytes).
    function _entryDepth(uint256 e, uint256 op) private pure {
        uint256 len = _field(e, E_LEN);
        uint256 d = _depthFor(op == 0xf9 ? (len + 31) >> 5 : len);
        assembly ("memory-safe") {
            mstore(add(e, E_D), d)
        }
    }

    /// Which elements the step touches, from the operands and the entries' lengths, or its trap.
    function _tableElements(uint256 op, uint256 memLen) private pure {
        assembly ("memory-safe") {
            function val(j) -> x {
                x := and(shr(192, calldataload(add(mload(R_VALS), shl(3, j)))), M32)
            }
            function open(e, i, j) {
                let lo := i
                let hi := j
                if gt(i, j) {
                    lo := j
                    hi := i
                }
                mstore(add(e, E_P), lo)
                mstore(add(e, E_Q), hi)
            }
            // the entry whose index is i (a or b)
            function entry(i) -> e {
                e := EA
                if iszero(eq(mload(add(EA, E_IDX)), i)) { e := EB }
            }
            let lenA := mload(add(EA, E_LEN))
            switch op
            case 0xe6 {
                let i := val(0)
                switch lt(i, lenA)
                case 1 { open(EA, i, i) }
                default { mstore(R_TRAP, T_UNDEFINED) }
            }
            case 0x25 {
                let i := val(0)
                switch lt(i, lenA)
                case 1 { open(EA, i, i) }
                default { mstore(R_TRAP, T_OOBTABLE) }
            }
            case 0x26 {
                let i := val(0)
                switch lt(i, lenA)
                case 1 { open(EA, i, i) }
                default { mstore(R_TRAP, T_OOBTABLE) }
            }
            case 0xf5 {
                let i := val(0)
                let n := val(2)
                switch gt(add(i, n), lenA)
                case 1 { mstore(R_TRAP, T_OOBTABLE) }
                default { if n { open(EA, i, i) } }
            }
            case 0xf9 {
                let d := val(0)
                let s := val(1)
                let n := val(2)
                switch or(gt(add(s, n), lenA), gt(add(d, n), memLen))
                case 1 { mstore(R_TRAP, T_OOB) }
                default {
                    if n {
                        let c := n
                        let r := sub(32, and(d, 31))
                        if lt(r, c) { c := r }
                        r := sub(32, and(s, 31))
                        if lt(r, c) { c := r }
                        mstore(R_CHUNK, c)
                        open(EA, shr(5, s), shr(5, s))
                    }
                }
            }
            default {
                // TableCopy, TableInit [d, s, n]: destination entry a, source entry b (immediates)
                if or(eq(op, 0xf6), eq(op, 0xf7)) {
                    let x := entry(mload(R_A))
                    let y := entry(mload(R_B))
                    let d := val(0)
                    let s := val(1)
                    let n := val(2)
                    switch or(gt(add(s, n), mload(add(y, E_LEN))), gt(add(d, n), mload(add(x, E_LEN))))
                    case 1 { mstore(R_TRAP, T_OOBTABLE) }
                    default {
                        if n {
                            let di := d
                            let si := s
                            if and(eq(op, 0xf6), gt(d, s)) {
                                di := sub(add(d, n), 1)
                                si := sub(add(s, n), 1)
                            }
                            switch eq(x, y)
                            case 1 { open(x, di, si) }
                            default {
                                open(x, di, di)
                                open(y, si, si)
                            }
                        }
                    }
                }
                // TableSize, TableGrow, SegmentDrop: no element
            }
        }
    }

    /// ELEMS of entry e at R_O: its root sealed, one leaf and its proof, or two leaves p < q and their proof.
    function _parseElems(uint256 e) private pure {
        uint256 o;
        uint256 p;
        uint256 q;
        uint256 d;
        assembly ("memory-safe") {
            o := mload(R_O)
            p := mload(add(e, E_P))
            q := mload(add(e, E_Q))
            d := mload(add(e, E_D))
        }
        bytes32 root;
        if (p == NONE) {
            assembly ("memory-safe") {
                root := calldataload(o)
                mstore(add(e, E_LEAF), 0)
            }
            o += 32;
        } else if (p == q) {
            bytes32 leaf;
            assembly ("memory-safe") {
                leaf := calldataload(o)
                mstore(add(e, E_LEAF), o)
                mstore(add(e, E_PROOF), add(o, 32))
            }
            root = _climb(leaf, p, o + 32, d);
            o += 32 + 32 * d;
        } else {
            bytes32 lp;
            bytes32 lq;
            assembly ("memory-safe") {
                lp := calldataload(o)
                lq := calldataload(add(o, 32))
                mstore(add(e, E_LEAF), o)
                mstore(add(e, E_PROOF), add(o, 64))
            }
            root = _climb2(lp, lq, p, q, o + 64, d);
            o += 64 + 32 * (d + _bitlen(p ^ q) - 2);
        }
        assembly ("memory-safe") {
            mstore(add(e, E_ROOT), root)
            mstore(R_O, o)
        }
    }

    /// keccak(0x14 ‖ len u32 ‖ root) of entry e (its E_LEN and E_ROOT).
    function _entryLeaf(uint256 e) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore8(SCR, 0x14)
            mstore(add(SCR, 1), shl(224, mload(add(e, E_LEN))))
            mstore(add(SCR, 5), mload(add(e, E_ROOT)))
            h := keccak256(SCR, 37)
        }
    }

    function _field(uint256 e, uint256 f) internal pure returns (uint256 x) {
        assembly ("memory-safe") {
            x := mload(add(e, f))
        }
    }

    /// FUNC (table.set, table.fill storing a function f + 1): its invoke stub's code leaf, proven in
    /// the code tree; R_FUNC = its offset (0: the step stores nothing or null).
    function _parseFunc() internal pure {
        uint256 stored;
        uint256 cd;
        uint256 o;
        assembly ("memory-safe") {
            mstore(R_FUNC, 0)
            stored := and(shr(192, calldataload(add(mload(R_VALS), 8))), M32)
            cd := byte(30, mload(REGS))
            o := mload(R_O)
        }
        if (_field(EA, E_P) == NONE || stored == 0) return;
        assembly ("memory-safe") {
            function fail(s) {
                mstore(0, shl(224, s))
                revert(0, 4)
            }
            if gt(o, mload(R_E)) { fail(ERR_TRUNCATED) } // the sections before (verify.ts threw there)
            if iszero(lt(sub(stored, 1), shl(cd, 1))) { fail(ERR_BADFIELD) }
            if gt(add(o, add(32, shl(5, cd))), mload(R_E)) { fail(ERR_TRUNCATED) }
        }
        bytes32 leaf;
        assembly ("memory-safe") {
            leaf := calldataload(o)
        }
        bytes32 r = _climb(leaf, stored - 1, o + 32, cd);
        assembly ("memory-safe") {
            function fail(s) {
                mstore(0, shl(224, s))
                revert(0, 4)
            }
            if iszero(eq(r, mload(CODEROOT))) { fail(ERR_ROOTMISMATCH) }
            // [Call entry numLocals maxHeight][Halt typeId f+1 0]
            if or(or(iszero(eq(byte(0, leaf), 0xe5)), iszero(eq(byte(16, leaf), 0xe8))), iszero(eq(and(shr(32, leaf), M32), stored))) {
                fail(ERR_BADFIELD)
            }
            mstore(R_FUNC, o)
            mstore(R_O, add(o, add(32, shl(5, cd))))
        }
    }

    /// The tables root from entry leaves `ha` (entry a) and `hb` (entry b, when two) through the
    /// TABLES proof.
    function _tablesRoot(bytes32 ha, bytes32 hb) internal pure returns (bytes32) {
        uint256 at = _field(0, R_TPROOF);
        uint256 dN = _field(0, R_TN);
        if (_field(0, R_TWO) == 0) return _climb(ha, _field(EA, E_IDX), at, dN);
        return _climb2(ha, hb, _field(EA, E_IDX), _field(EB, E_IDX), at, dN);
    }

    /// MEM: the leaves the step touches (one, two, or none: sealed root).
    function _parseMem(uint256 op, uint256 memLen, uint256 memD) internal pure {
        uint256 p;
        uint256 q;
        bool open;
        assembly ("memory-safe") {
            let vals := mload(R_VALS)
            let v0 := and(shr(192, calldataload(vals)), M32)
            switch and(gt(op, 0x27), lt(op, 0x3f))
            case 1 {
                // loads 0x28..0x35 (address on top), stores 0x36..0x3e (address below the value)
                let size := shl(and(shr(shl(2, sub(op, 0x28)), MEMOPS), 3), 1)
                let addr := v0
                if lt(op, 0x36) { addr := and(shr(192, calldataload(add(vals, shl(3, sub(mload(R_K), 1))))), M32) }
                let ea := add(addr, mload(R_A))
                switch gt(add(ea, size), memLen)
                case 1 { mstore(R_TRAP, T_OOB) }
                default {
                    p := shr(5, ea)
                    q := shr(5, sub(add(ea, size), 1))
                    open := 1
                }
            }
            default {
                switch op
                case 0xeb {
                    // InputRead, OutputWrite: the chunk was decided with the input/output leaf
                    if and(iszero(mload(R_TRAP)), gt(mload(R_CHUNK), 0)) {
                        p := shr(5, v0)
                        q := p
                        open := 1
                    }
                }
                case 0xec {
                    if and(iszero(mload(R_TRAP)), gt(mload(R_CHUNK), 0)) {
                        p := shr(5, v0)
                        q := p
                        open := 1
                    }
                }
                case 0xf9 {
                    // MemoryInit: the chunk was decided with the data segment's leaf
                    if and(iszero(mload(R_TRAP)), gt(mload(R_CHUNK), 0)) {
                        p := shr(5, v0)
                        q := p
                        open := 1
                    }
                }
                case 0xed {
                    // MemoryCopy [dst, src, n]
                    let src := and(shr(192, calldataload(add(vals, 8))), M32)
                    let n := and(shr(192, calldataload(add(vals, 16))), M32)
                    switch or(gt(add(src, n), memLen), gt(add(v0, n), memLen))
                    case 1 { mstore(R_TRAP, T_OOB) }
                    default {
                        if n {
                            let c := n
                            let dl
                            let sl
                            switch gt(v0, src)
                            case 1 {
                                // backwards: the chunk ends at the end of the remaining range
                                let de := add(v0, n)
                                let se := add(src, n)
                                let r := add(and(sub(de, 1), 31), 1)
                                if lt(r, c) { c := r }
                                r := add(and(sub(se, 1), 31), 1)
                                if lt(r, c) { c := r }
                                dl := shr(5, sub(de, c))
                                sl := shr(5, sub(se, c))
                            }
                            default {
                                let r := sub(32, and(v0, 31))
                                if lt(r, c) { c := r }
                                r := sub(32, and(src, 31))
                                if lt(r, c) { c := r }
                                dl := shr(5, v0)
                                sl := shr(5, src)
                            }
                            mstore(R_CHUNK, c)
                            p := dl
                            q := sl
                            if gt(dl, sl) {
                                p := sl
                                q := dl
                            }
                            open := 1
                        }
                    }
                }
                case 0xee {
                    // MemoryFill [dst, value, n]
                    let n := and(shr(192, calldataload(add(vals, 16))), M32)
                    switch gt(add(v0, n), memLen)
                    case 1 { mstore(R_TRAP, T_OOB) }
                    default {
                        if n {
                            let c := n
                            let r := sub(32, and(v0, 31))
                            if lt(r, c) { c := r }
                            mstore(R_CHUNK, c)
                            p := shr(5, v0)
                            q := p
                            open := 1
                        }
                    }
                }
                default {}
            }
        }
        uint256 o;
        assembly ("memory-safe") {
            o := mload(R_O)
        }
        if (!open) {
            assembly ("memory-safe") {
                mstore(MEMROOT, calldataload(o))
                mstore(R_O, add(o, 32))
            }
            return;
        }
        bytes32 lp;
        assembly ("memory-safe") {
            mstore(R_MEMP, p)
            mstore(R_MEMQ, q)
            mstore(R_MLEAF, o)
            lp := calldataload(o)
        }
        bytes32 root;
        if (p == q) {
            assembly ("memory-safe") {
                mstore(R_MPROOF, add(o, 32))
            }
            root = _climb(lp, p, o + 32, memD);
            o += 32 + 32 * memD;
        } else {
            bytes32 lq;
            assembly ("memory-safe") {
                lq := calldataload(add(o, 32))
                mstore(R_MPROOF, add(o, 64))
            }
            root = _climb2(lp, lq, p, q, o + 64, memD);
            o += 64 + 32 * (memD + _bitlen(p ^ q) - 2);
        }
        assembly ("memory-safe") {
            mstore(MEMROOT, root)
            mstore(R_O, o)
        }
    }

    // ================================================================================================
    // Execution helpers

    function _c() internal pure returns (uint256 c) {
        assembly ("memory-safe") {
            c := mload(R_C)
        }
    }

    /// Memory root with the (possibly modified) leaves at LB (P) and LB+32 (Q, when two).
    function _memRootFromLB() internal pure returns (bytes32) {
        uint256 p;
        uint256 q;
        uint256 at;
        uint256 d;
        bytes32 lp;
        bytes32 lq;
        assembly ("memory-safe") {
            p := mload(R_MEMP)
            q := mload(R_MEMQ)
            at := mload(R_MPROOF)
            d := mload(R_MEMD)
            lp := mload(LB)
            lq := mload(add(LB, 32))
        }
        if (p == q) return _climb(lp, p, at, d);
        return _climb2(lp, lq, p, q, at, d);
    }

    /// Loads the opened memory leaves into LB (P) and LB+32 (Q; when only one leaf is open, whatever
    /// follows it in calldata, never used).
    function _leavesToLB() internal pure {
        assembly ("memory-safe") {
            let at := mload(R_MLEAF)
            mstore(LB, calldataload(at))
            mstore(add(LB, 32), calldataload(add(at, 32)))
        }
    }

    /// `c` bytes of `src` from byte `so` written into `dst` at byte `dOff` (c <= 32 - so, 32 - dOff).
    function _copyBytes(bytes32 src, uint256 so, bytes32 dst, uint256 dOff, uint256 c) internal pure returns (bytes32 r) {
        assembly ("memory-safe") {
            let m := not(shr(shl(3, c), not(0)))
            let seg := and(shl(shl(3, so), src), m)
            let mm := shr(shl(3, dOff), m)
            r := or(and(dst, not(mm)), shr(shl(3, dOff), seg))
        }
    }

    /// The cold hash from the cold block (after the step changed memInfo, memRoot, frames or aux).
    function _rehashCold() internal pure {
        assembly ("memory-safe") {
            mstore(COLD, keccak256(add(MEMINFO, 23), 105))
        }
    }

    /// The aux and cold hashes (after the step changed globals or output).
    function _rehashAuxCold() internal pure {
        assembly ("memory-safe") {
            mstore(AUX, keccak256(add(LIMITS, 11), 149))
            mstore(COLD, keccak256(add(MEMINFO, 23), 105))
        }
    }

    /// Ends a resumable operation's step (InputRead, OutputWrite, MemoryCopy, MemoryFill) whose
    /// chunk has been applied: when the count reaches 0 it pops the operands and advances pc,
    /// otherwise it leaves the updated operands in place and stays at pc.
    function _resumeOrFinish() internal pure {
        uint256 op = _op();
        uint256 pc = _pc();
        uint256 nOut;
        uint256 depth;
        assembly ("memory-safe") {
            depth := and(shr(64, mload(REGS)), M32)
            let vals := mload(R_VALS)
            let k := mload(R_K)
            let n := and(shr(192, calldataload(add(vals, shl(3, sub(k, 1))))), M32)
            let c := mload(R_CHUNK)
            if lt(c, n) {
                nOut := k
                let v0 := shr(192, calldataload(vals))
                let v1 := shr(192, calldataload(add(vals, 8)))
                switch op
                case 0xec {
                    mstore(R_OUT, and(add(v0, c), M32))
                    mstore(add(R_OUT, 32), sub(n, c))
                }
                case 0xee {
                    mstore(R_OUT, and(add(v0, c), M32))
                    mstore(add(R_OUT, 32), v1)
                    mstore(add(R_OUT, 64), sub(n, c))
                }
                default {
                    switch and(eq(op, 0xed), gt(and(v0, M32), and(v1, M32)))
                    case 1 {
                        mstore(R_OUT, v0)
                        mstore(add(R_OUT, 32), v1)
                    }
                    default {
                        mstore(R_OUT, and(add(v0, c), M32))
                        mstore(add(R_OUT, 32), and(add(v1, c), M32))
                    }
                    mstore(add(R_OUT, 64), sub(n, c))
                }
            }
        }
        _finish(nOut == 0 ? pc + 1 : pc, nOut, depth, 0);
    }

    /// Count operand of a resumable operation (u32), 0 meaning "pop and advance".
    function _count() internal pure returns (uint256 n) {
        assembly ("memory-safe") {
            n := and(shr(192, calldataload(add(mload(R_VALS), shl(3, sub(mload(R_K), 1))))), M32)
        }
    }

    function _depth() internal pure returns (uint256 d) {
        assembly ("memory-safe") {
            d := and(shr(64, mload(REGS)), M32)
        }
    }
}
