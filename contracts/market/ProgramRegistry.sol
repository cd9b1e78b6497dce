// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {TaskState} from "../state/TaskState.sol";

/// Registry of task programs. A program is identified by its program root (docs/STATE.md §6),
/// keccak256(0x13 ‖ descriptor). Registering emits the WebAssembly bytes so that nodes can fetch
/// them from the chain; the contract cannot check the root against the bytes (that needs the whole
/// lowering), so nodes recompute the root from the bytes and refuse tasks whose registered root
/// differs from theirs. Anyone may register the same root again with other bytes: a registration
/// with wrong bytes can therefore not block the program (nodes use any registration whose bytes
/// compile to the root). The descriptor is stored as the code of a data contract ("SSTORE2"): one
/// EXTCODECOPY when a task is posted instead of five cold storage reads.
contract ProgramRegistry {
    /// descriptor data contract by program root (its code: 0x00 ‖ 144 descriptor bytes)
    mapping(bytes32 => address) internal descriptorStore;

    event ProgramRegistered(bytes32 indexed programRoot, address indexed registrant, bytes descriptor, bytes wasm);

    error UnknownProgram(bytes32 programRoot);
    error StoreFailed();

    /// Registers `wasm` under the program root of `d`; returns the root.
    function register(bytes calldata wasm, TaskState.Descriptor calldata d) external returns (bytes32 root) {
        TaskState.Descriptor memory dm = d;
        TaskState.checkDescriptor(dm);
        bytes memory desc = TaskState.descriptorBytes(dm);
        root = TaskState.programRoot(desc);
        if (descriptorStore[root] == address(0)) descriptorStore[root] = _store(desc);
        emit ProgramRegistered(root, msg.sender, desc, wasm);
    }

    function isRegistered(bytes32 root) external view returns (bool) {
        return descriptorStore[root] != address(0);
    }

    /// The 144 descriptor bytes of a registered program.
    function descriptorOf(bytes32 root) public view returns (bytes memory desc) {
        address store = descriptorStore[root];
        if (store == address(0)) revert UnknownProgram(root);
        desc = new bytes(TaskState.DESCRIPTOR_LENGTH);
        assembly ("memory-safe") {
            extcodecopy(store, add(desc, 32), 1, 144)
        }
    }

    /// Deploys a contract whose code is 0x00 (STOP: not callable) followed by `data`.
    function _store(bytes memory data) private returns (address store) {
        // init code: PUSH2 size, DUP1, PUSH1 0x0c, PUSH1 0, CODECOPY, PUSH1 0, RETURN; then the code
        bytes memory init = abi.encodePacked(hex"61", uint16(data.length + 1), hex"80600c6000396000f3", hex"00", data);
        assembly ("memory-safe") {
            store := create(0, add(init, 32), mload(init))
        }
        if (store == address(0)) revert StoreFailed();
    }
}
