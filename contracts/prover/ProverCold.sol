// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ProverBase} from "./ProverBase.sol";

/// @title Parse of the cold part (memInfo, AUX with GLOBALS/TABLE/INPUT/OUTPUT, FRAMES, MEM) and the
/// helpers shared by the steps that open it (ProverMemory, ProverHost).
/// @dev Mirrors verify.ts from "COLD" to the root check, in the same order and with the same checks.
abstract contract ProverCold is ProverBase {
    /// Parses everything after the header (which must have been parsed, and the instruction must
    /// execute) and checks the pre root. Returns (trapping) when the step traps on a condition
    /// decided while parsing (UndefinedElement, out-of-bounds memory, input/output bounds).
    function _parseCold(bytes32 preRoot) internal pure {
        _stack();
        _localsSealed();
        uint256 op = _op();
        uint256 info = _opInfo(op);
        uint256 o;
        uint256 memLen;
        uint256 memD;
        uint256 undefinedElement;
        assembly ("memory-safe") {
            o := mload(R_O)
            // CallIndirect past the table traps without opening anything (the cold part stays sealed)
            if eq(op, 0xe6) {
                undefinedElement := iszero(lt(and(shr(192, calldataload(mload(R_VALS))), M32), mload(R_C)))
                if undefinedElement {
                    mstore(COLD, calldataload(o))
                    mstore(R_O, add(o, 32))
                }
            }
        }
        if (undefinedElement != 0) {
            _checkPre(preRoot);
            _trapped(T_UNDEFINED);
        }
        assembly ("memory-safe") {
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
        // TABLE
        if (op == 0xe6) {
            uint256 d;
            uint256 idx;
            assembly ("memory-safe") {
                idx := and(shr(192, calldataload(mload(R_VALS))), M32)
            }
            d = _depthFor(_c());
            bytes32 leaf;
            assembly ("memory-safe") {
                mstore(R_TLEAF, o)
                leaf := calldataload(o)
            }
            bytes32 root = _climb(leaf, idx, o + 32, d);
            assembly ("memory-safe") {
                mstore(TABLE, root)
                o := add(o, add(32, shl(5, d)))
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
