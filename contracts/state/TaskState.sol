// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Merkle} from "./Merkle.sol";

/// The parts of the state commitment (docs/STATE.md) that the task market needs: the program root
/// and initial state root of a task (§6), and the opening of a claimed final state (§2) to read its
/// status, step count and output root.
library TaskState {
    /// A program descriptor (docs/STATE.md §6): what a registered program commits to.
    struct Descriptor {
        bytes32 codeRoot;
        bytes32 memRoot; // initial memory, data segments applied
        bytes32 globalsRoot; // initial globals
        bytes32 tableRoot;
        uint32 entryPc;
        uint32 codeDepth;
        uint32 initPages;
        uint32 memMax; // declared maximum in pages, 65536 when none
    }

    /// Limits of a task (interpreter/isa.ts `Limits`).
    struct Limits {
        uint64 steps;
        uint32 memoryPages;
        uint32 callDepth;
        uint32 stackHeight;
        uint32 outputBytes;
    }

    /// What a final-state opening reveals.
    struct Final {
        bytes32 root;
        uint8 status; // 0 running, 1 halted, 2 trapped
        uint8 trap;
        uint32 exitCode; // set by Exit (WASI proc_exit); 0 when main returned
        uint64 steps; // u48 in regs
        uint64 stepLimit; // u48 in regs
        uint32 outLen;
        uint32 outputLimit;
        bytes32 outputRoot;
    }

    uint256 internal constant MAX_PAGES = 65536;
    /// steps and stepLimit are u48 in regs; a step from stepLimit still counts (steps + 1).
    uint256 internal constant MAX_STEP_LIMIT = (1 << 48) - 2;
    uint256 internal constant DESCRIPTOR_LENGTH = 144;

    /// Length of a final-state opening: the preimages of the state root without their prefixes, in
    /// hash order: regs ‖ stackHash ‖ localsRoot ‖ codeRoot ‖ memInfo(8) ‖ memRoot ‖ framesHash ‖
    /// limits(20) ‖ globalsRoot ‖ tableRoot ‖ inputRoot ‖ outputRoot.
    uint256 internal constant OPENING_LENGTH = 348;

    error BadDescriptor();
    error BadOpening(uint256 length);
    error InitialMemoryTooLarge(uint256 initPages, uint256 memoryPages);
    error StepLimitTooLarge(uint256 steps);

    /// The 144 descriptor bytes: the four roots, then entryPc, codeDepth, initPages, memMax (u32 each).
    function descriptorBytes(Descriptor memory d) internal pure returns (bytes memory) {
        return abi.encodePacked(d.codeRoot, d.memRoot, d.globalsRoot, d.tableRoot, d.entryPc, d.codeDepth, d.initPages, d.memMax);
    }

    /// keccak256(0x13 ‖ descriptor).
    function programRoot(bytes memory desc) internal pure returns (bytes32) {
        if (desc.length != DESCRIPTOR_LENGTH) revert BadDescriptor();
        return keccak256(abi.encodePacked(uint8(0x13), desc));
    }

    /// Rejects descriptors no lowering can produce (so that the u8 codeDepth of regs cannot wrap).
    function checkDescriptor(Descriptor memory d) internal pure {
        if (d.codeDepth > 32 || d.memMax > MAX_PAGES || d.initPages > d.memMax) revert BadDescriptor();
    }

    /// Root of the input tree of `input` (depth depthOf(ceil(len / 32))).
    function inputRoot(bytes calldata input) internal pure returns (bytes32) {
        return Merkle.bytesRoot(input, Merkle.depthOf(Merkle.leavesOf(input.length)));
    }

    /// Depth of the output tree of a task: depthOf(ceil(outputLimit / 32)).
    function outputDepth(uint256 outputLimit) internal pure returns (uint256) {
        return Merkle.depthOf(Merkle.leavesOf(outputLimit));
    }

    /// The initial state root (docs/STATE.md §6) from the 144 descriptor bytes.
    function initialStateRoot(bytes memory desc, bytes32 inRoot, uint256 inputLen, Limits memory l) internal pure returns (bytes32 root) {
        if (desc.length != DESCRIPTOR_LENGTH) revert BadDescriptor();
        uint256 tail; // entryPc ‖ codeDepth ‖ initPages ‖ memMax in the top 16 bytes
        assembly ("memory-safe") {
            tail := mload(add(desc, 160))
        }
        uint256 initPages = (tail >> 160) & 0xffffffff;
        if (initPages > l.memoryPages) revert InitialMemoryTooLarge(initPages, l.memoryPages);
        if (l.steps > MAX_STEP_LIMIT) revert StepLimitTooLarge(l.steps);
        // limits word (20 bytes, left-aligned): stackLimit ‖ callDepthLimit ‖ memCeiling ‖ outputLimit ‖ inputLen
        uint256 limitsWord;
        {
            uint256 ceiling = (tail >> 128) & 0xffffffff; // memMax
            if (l.memoryPages < ceiling) ceiling = l.memoryPages;
            if (MAX_PAGES < ceiling) ceiling = MAX_PAGES;
            limitsWord =
                (uint256(l.stackHeight) << 224) |
                (uint256(l.callDepth) << 192) |
                (ceiling << 160) |
                (uint256(l.outputBytes) << 128) |
                (uint256(uint32(inputLen)) << 96);
        }
        bytes32 zOut = Merkle.zero(outputDepth(l.outputBytes));
        // regs: pc u32 ‖ steps u48 (0) ‖ stepLimit u48 ‖ sp u32 (0) ‖ depth u32 (1) ‖ exitCode u32 (0) ‖
        //       status, trap (0) ‖ codeDepth u8 ‖ 0
        uint256 regs = ((tail >> 224) << 224) | (uint256(l.steps) << 128) | (uint256(1) << 64) | (((tail >> 192) & 0xffffffff) << 8);
        assembly ("memory-safe") {
            let p := mload(0x40)
            // aux = H(0x12 ‖ limits(20) ‖ globalsRoot ‖ tableRoot ‖ inputRoot ‖ Z[outputDepth])
            mstore8(p, 0x12)
            mstore(add(p, 1), limitsWord)
            mstore(add(p, 21), mload(add(desc, 96)))
            mstore(add(p, 53), mload(add(desc, 128)))
            mstore(add(p, 85), inRoot)
            mstore(add(p, 117), zOut)
            let aux := keccak256(p, 149)
            // cold = H(0x11 ‖ initPages u32 ‖ outLen u32 (0) ‖ memRoot ‖ framesHash (0) ‖ aux)
            mstore8(p, 0x11)
            mstore(add(p, 1), shl(224, initPages))
            mstore(add(p, 9), mload(add(desc, 64)))
            mstore(add(p, 41), 0)
            mstore(add(p, 73), aux)
            let cold := keccak256(p, 105)
            // root = H(0x10 ‖ regs ‖ stackHash (0) ‖ localsRoot (Z[0]) ‖ codeRoot ‖ cold)
            mstore8(p, 0x10)
            mstore(add(p, 1), regs)
            mstore(add(p, 33), 0)
            mstore(add(p, 65), 0)
            mstore(add(p, 97), mload(add(desc, 32)))
            mstore(add(p, 129), cold)
            root := keccak256(p, 161)
        }
    }

    /// Hashes a final-state opening (OPENING_LENGTH bytes, see above) to its state root and reads the
    /// fields the market checks.
    function open(bytes calldata o) internal pure returns (Final memory f) {
        if (o.length != OPENING_LENGTH) revert BadOpening(o.length);
        bytes32 root;
        uint256 regs;
        uint256 outLen;
        uint256 outputLimit;
        bytes32 outRoot;
        assembly ("memory-safe") {
            let p := mload(0x40)
            // aux = H(0x12 ‖ o[200..348])
            mstore8(p, 0x12)
            calldatacopy(add(p, 1), add(o.offset, 200), 148)
            let aux := keccak256(p, 149)
            // cold = H(0x11 ‖ o[128..200] ‖ aux)
            mstore8(p, 0x11)
            calldatacopy(add(p, 1), add(o.offset, 128), 72)
            mstore(add(p, 73), aux)
            let cold := keccak256(p, 105)
            // root = H(0x10 ‖ o[0..128] ‖ cold)
            mstore8(p, 0x10)
            calldatacopy(add(p, 1), o.offset, 128)
            mstore(add(p, 129), cold)
            root := keccak256(p, 161)
            regs := calldataload(o.offset)
            outLen := shr(224, calldataload(add(o.offset, 132)))
            outputLimit := shr(224, calldataload(add(o.offset, 212)))
            outRoot := calldataload(add(o.offset, 316))
        }
        f.root = root;
        f.steps = uint64((regs >> 176) & 0xffffffffffff);
        f.stepLimit = uint64((regs >> 128) & 0xffffffffffff);
        f.exitCode = uint32(regs >> 32);
        f.status = uint8(regs >> 24);
        f.trap = uint8(regs >> 16);
        f.outLen = uint32(outLen);
        f.outputLimit = uint32(outputLimit);
        f.outputRoot = outRoot;
    }
}
