// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {InputTree} from "./InputTree.sol";
import {IInputUploads} from "./ITaskMarket.sol";

/// Task inputs larger than one transaction (docs/DAPPS.md § Large inputs): uploaded in chunks, each
/// folded into the input's Merkle root as it arrives (InputTree), then sealed when the uploader
/// posts a task with it (TaskMarket.postInput). A sealed input never changes; any number of tasks,
/// by anyone, may use it. A task exists only once its input is sealed, so nothing can be solved
/// against a partial input.
///
/// Deployed by the market in its constructor (`TaskMarket.inputs()`), which alone may `use` an
/// input: a contract of its own keeps the market's code under EIP-170's 24,576 bytes.
///
/// Where nodes find the bytes: each chunk is an `InputAppended` event; its `chunk` field holds the
/// bytes when the uploader is a contract (or an EIP-7702 account, or a call nested in another
/// contract's transaction), and is empty when the uploader is a plain account calling the market
/// directly: the bytes are then the calldata of the transaction that emitted the event (a direct
/// `appendInput` call), which nodes decode instead of paying 8 gas a byte to log them again.
contract InputUploads is IInputUploads {
    struct Upload {
        // slot 0
        address owner;
        uint32 length; // bytes so far
        bool isSealed;
        // slot 1: the input root, once sealed
        bytes32 root;
        // slots 2..29
        InputTree.Frontier frontier;
    }

    /// The market: the only caller of `use`.
    address public immutable market;
    uint256 public inputCount;
    mapping(uint256 => Upload) internal uploads;

    /// `offset`: where the chunk starts in the input; `size`: its byte count; `chunk`: its bytes,
    /// or empty when they are the calldata of this event's transaction (see above).
    event InputAppended(uint256 indexed inputId, address indexed owner, uint256 offset, uint256 size, bytes chunk);
    event InputSealed(uint256 indexed inputId, bytes32 root, uint256 length);
    /// Task `taskId` was posted with input `inputId` (in the transaction that emitted its TaskPosted).
    event InputUsed(uint256 indexed inputId, uint256 indexed taskId);

    error UnknownInput(uint256 inputId);
    error NotInputOwner(uint256 inputId);
    error InputAlreadySealed(uint256 inputId);
    error NotMarket();

    constructor() {
        market = msg.sender;
    }

    /// Appends `chunk` to upload `inputId`, or starts a new upload owned by the caller when
    /// `inputId` is 0; returns the upload's id (also in the event). Every chunk but the last must
    /// be a multiple of 32 bytes (InputTree.InputUnaligned otherwise). Only the owner may append,
    /// and only until the input is sealed.
    function appendInput(uint256 inputId, bytes calldata chunk) external returns (uint256 id) {
        id = inputId;
        Upload storage u;
        if (id == 0) {
            id = ++inputCount;
            u = uploads[id];
            u.owner = msg.sender;
        } else {
            u = uploads[id];
            if (u.owner == address(0)) revert UnknownInput(id);
            if (u.owner != msg.sender) revert NotInputOwner(id);
            if (u.isSealed) revert InputAlreadySealed(id);
        }
        uint256 offset = u.length;
        u.length = uint32(InputTree.append(u.frontier, offset, chunk));
        // plain account calling directly: the bytes are this transaction's calldata
        bool direct = msg.sender == tx.origin && msg.sender.code.length == 0;
        emit InputAppended(id, msg.sender, offset, chunk.length, direct ? chunk[0:0] : chunk);
    }

    /// An upload: owner, bytes so far, whether sealed, and its root once sealed.
    function inputOf(uint256 inputId) external view returns (address owner, uint256 length, bool isSealed, bytes32 root) {
        Upload storage u = uploads[inputId];
        return (u.owner, u.length, u.isSealed, u.root);
    }

    /// The market, when `poster` posts task `taskId` on input `inputId`: the input's root and length.
    /// An unsealed input is sealed here, for its owner only.
    function use(uint256 inputId, address poster, uint256 taskId) external returns (bytes32 root, uint256 length) {
        if (msg.sender != market) revert NotMarket();
        Upload storage u = uploads[inputId];
        address owner = u.owner;
        if (owner == address(0)) revert UnknownInput(inputId);
        length = u.length;
        if (u.isSealed) {
            root = u.root;
        } else {
            if (owner != poster) revert NotInputOwner(inputId);
            root = InputTree.root(u.frontier, length);
            u.isSealed = true;
            u.root = root;
            emit InputSealed(inputId, root, length);
        }
        emit InputUsed(inputId, taskId);
    }
}
