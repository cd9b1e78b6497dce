// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {TaskMarket} from "../market/TaskMarket.sol";
import {TaskState} from "../state/TaskState.sol";
import {ITaskCallback} from "../market/ITaskCallback.sol";
import {BtcTx} from "./BtcTx.sol";
import {IBtcTxTarget} from "./IBtcTxTarget.sol";

/// The demo dapp (docs/RELAY.md): a Bitcoin relay whose headers are validated by the verification
/// game instead of on-chain. Anyone submits a batch of headers that extends a stored tip; the relay
/// posts it to the TaskMarket as a btc-headers task (docs/TASKS.md §5, dense mode) whose input is the
/// tip's checkpoint record followed by the headers; when the task ends with a verified valid
/// result the relay stores the new tip and the Merkle root of the batch's block hashes.
///
/// Tips form a tree (a batch may extend any stored tip, e.g. a stale fork); the best tip is the one
/// with the most chain work (the first one seen on a tie). `verifyTx` proves that a transaction is
/// in a relayed block with at least `confirmations` blocks on the best chain.
///
/// Byte order: block hashes, txids and Merkle roots are bytes32 in Bitcoin's internal order (the raw
/// double-SHA-256 output, as in a header's prev-hash field); explorers show them reversed.
///
/// Per batch the relay stores six slots (tip hash, record hash, block root, chain work, one packed
/// word, submitter and fee); the full 124-byte checkpoint record is in the TipStored event and is
/// re-supplied (and checked against its hash) by whoever builds on the tip. Tips are identified by
/// the market's task id (0 = the initial checkpoint).
///
/// Fees: whoever submits a batch sets a fee (at most `maxFee`) that every proof against the batch
/// pays (verifyTx, verifyBlock, relayTx: msg.value must equal the fee); fees accrue to the
/// submitter's balance here and are withdrawn (`withdraw`), never pushed.
contract BtcRelay is ITaskCallback {
    /// The checkpoint the relay starts from (the fields of the task's checkpoint record).
    struct Checkpoint {
        uint32 height;
        bytes32 hash; // internal byte order
        uint32 bits;
        uint32 periodStartTime; // time of block floor(height / 2016) * 2016
        uint32[] timestamps; // 1..11 latest, oldest first; the last one is the checkpoint's own
        uint256 chainWork;
    }

    /// Terms of the tasks the relay posts. The step limit of a batch of n headers is
    /// stepsBase + n * stepsPerHeader (the task needs about 28,000 steps per header).
    struct Config {
        uint32 confirmations; // N of verifyTx: blocks on the best chain from the block to the tip, inclusive
        uint24 window; // challenge window, seconds
        uint40 deadlineDelay; // seconds from submission to the solution deadline
        uint88 solverBond;
        uint88 challengerBond;
        uint64 stepsBase;
        uint64 stepsPerHeader;
        uint32 memoryPages;
        uint32 callDepth;
        uint32 stackHeight;
        uint96 maxFee; // the highest fee a submitter may set per proof against its batch, wei
    }

    /// A transaction's place in the relayed chain: its Merkle branch in the block, the block's
    /// 80-byte header, and the block's branch in relayed batch `batchId` (docs/RELAY.md).
    struct TxProof {
        uint256 txIndex;
        bytes32[] txSiblings;
        bytes header;
        uint256 batchId;
        uint256 blockIndex;
        bytes32[] blockSiblings;
    }

    struct Tip {
        // slot 0: the tip's block hash (while pending: the reward, for a refund on expiry)
        bytes32 hash;
        // slot 1: keccak256 of the tip's 124-byte checkpoint record (docs/TASKS.md §5)
        bytes32 record;
        // slot 2: Merkle root of the batch's block hashes (Bitcoin's tree, SHA-256d); 0 for tip 0
        bytes32 blockRoot;
        // slot 3: cumulative chain work at the tip
        uint256 chainWork;
        // slot 4
        uint64 parent; // the tip the batch extends
        uint64 skip; // an ancestor further back (Bitcoin Core's skip list over `depth`)
        uint32 height; // of the tip block
        uint32 count; // headers in the batch (0 for the initial checkpoint)
        uint32 depth; // batches from the initial checkpoint
        uint8 state; // NONE, PENDING, STORED
        // slot 5, written at submission
        address submitter; // receives the batch's fees (and its reward back if the task expires)
        uint96 fee; // wei per proof against the batch
    }

    /// A stored tip as `tipOf` shows it: everything but the batch's block root, which only the
    /// proof functions (and their fee) use.
    struct TipView {
        bytes32 hash;
        bytes32 record;
        uint256 chainWork;
        uint64 parent;
        uint64 skip;
        uint32 height;
        uint32 count;
        uint32 depth;
        uint8 state;
        address submitter;
        uint96 fee;
    }

    uint8 internal constant NONE = 0;
    uint8 internal constant PENDING = 1;
    uint8 internal constant STORED = 2;

    uint256 public constant RECORD_BYTES = 124;
    uint256 public constant OUTPUT_BYTES = 172;
    uint256 public constant DENSE_MIN = 42; // bytes per dense header (46 with an escaped time)
    uint256 public constant DENSE_MAX = 46;
    /// Input prefix: format 1 and flags 2 (dense mode), u32 little-endian.
    bytes8 internal constant INPUT_PREFIX = 0x0100000002000000;

    TaskMarket public immutable market;
    bytes32 public immutable programRoot;
    uint256 public immutable confirmations;
    uint24 public immutable window;
    uint40 public immutable deadlineDelay;
    uint88 public immutable solverBond;
    uint88 public immutable challengerBond;
    uint64 public immutable stepsBase;
    uint64 public immutable stepsPerHeader;
    uint32 public immutable memoryPages;
    uint32 public immutable callDepth;
    uint32 public immutable stackHeight;
    uint96 public immutable maxFee;
    /// The block of the relay's deployment (its first TipStored event): where clients sync from.
    uint256 public immutable deployBlock;

    mapping(uint256 => Tip) internal tips;
    uint64 public bestId;
    /// Owed to each account and withdrawn with `withdraw`: the fees of proofs against its batches,
    /// and the rewards of its batches whose task expired without a solution.
    mapping(address => uint256) public balanceOf;

    event BatchSubmitted(uint256 indexed taskId, uint256 indexed parent, address indexed submitter, uint256 count, uint256 fee);
    /// A new tip; `record` is its checkpoint record, needed to submit a batch that extends it.
    event TipStored(uint256 indexed id, uint256 indexed parent, bytes32 hash, uint256 height, uint256 chainWork, bytes32 blockRoot, bytes record);
    event BestTipChanged(uint256 indexed id, bytes32 hash, uint256 height, uint256 chainWork);
    /// The task found an invalid header (rule and failedIndex as in the task output; rule 0 when the
    /// task trapped, status 2) or expired without a solution (status 0).
    event BatchRejected(uint256 indexed taskId, uint8 status, uint256 rule, uint256 failedIndex);
    event Withdrawal(address indexed account, uint256 amount);

    error NotMarket();
    error BadCheckpoint();
    error UnknownTip(uint256 id);
    error RecordMismatch();
    error BadBatch();
    error UnknownBatch(uint256 id);
    error BadHeader();
    error BlockHashMismatch();
    error BadTxProof();
    error BadBlockProof();
    error NotOnBestChain(uint256 batchId);
    error InsufficientConfirmations(uint256 have, uint256 need);
    error FeeTooHigh(uint256 fee, uint256 maxFee);
    error WrongFee(uint256 fee);
    /// A 64-byte "transaction": the size of an inner node of the transaction tree (docs/RELAY.md).
    error Tx64Bytes();
    error NothingToWithdraw();
    error TransferFailed();

    constructor(TaskMarket market_, bytes32 programRoot_, Checkpoint memory cp, Config memory cfg) {
        uint256 n = cp.timestamps.length;
        if (n == 0 || n > 11 || cfg.confirmations == 0) revert BadCheckpoint();
        market = market_;
        programRoot = programRoot_;
        confirmations = cfg.confirmations;
        window = cfg.window;
        deadlineDelay = cfg.deadlineDelay;
        solverBond = cfg.solverBond;
        challengerBond = cfg.challengerBond;
        stepsBase = cfg.stepsBase;
        stepsPerHeader = cfg.stepsPerHeader;
        memoryPages = cfg.memoryPages;
        callDepth = cfg.callDepth;
        stackHeight = cfg.stackHeight;
        maxFee = cfg.maxFee;
        deployBlock = block.number;

        bytes memory times;
        for (uint256 i = 0; i < 11; i++) times = abi.encodePacked(times, _le32b(i < n ? cp.timestamps[i] : 0));
        bytes memory record = abi.encodePacked(
            _le32b(cp.height),
            cp.hash,
            _le32b(cp.bits),
            _le32b(cp.periodStartTime),
            _le32b(uint32(n)),
            times,
            bytes32(_reverse256(cp.chainWork))
        );
        tips[0] = Tip(cp.hash, keccak256(record), 0, cp.chainWork, 0, 0, cp.height, 0, 0, STORED, address(0), 0);
        emit TipStored(0, 0, cp.hash, cp.height, cp.chainWork, 0, record);
        emit BestTipChanged(0, cp.hash, cp.height, cp.chainWork);
    }

    // --------------------------------------------------------------------------------------------
    // Batches

    /// Submits `count` headers extending tip `parent`, in the task's dense encoding (docs/TASKS.md
    /// §5: per header version ‖ merkle root ‖ i16 time delta ‖ nonce, 42 bytes; 46 with an escaped
    /// time). `record` is the parent's checkpoint record (from its TipStored event), checked against
    /// its stored hash. msg.value is the reward; `fee` (at most maxFee) is what every proof against
    /// the batch will pay the submitter. Posts the task; returns its id (the future tip's id).
    function submitBatch(uint64 parent, bytes calldata record, uint32 count, bytes calldata headers, uint96 fee)
        external
        payable
        returns (uint256 taskId)
    {
        if (fee > maxFee) revert FeeTooHigh(fee, maxFee);
        Tip storage p = tips[parent];
        if (p.state != STORED) revert UnknownTip(parent);
        if (record.length != RECORD_BYTES || keccak256(record) != p.record) revert RecordMismatch();
        if (count == 0 || headers.length < count * DENSE_MIN || headers.length > count * DENSE_MAX) revert BadBatch();
        bytes memory input = abi.encodePacked(INPUT_PREFIX, record, _le32b(count), headers);
        TaskState.Limits memory limits = TaskState.Limits(
            stepsBase + stepsPerHeader * count,
            memoryPages,
            callDepth,
            stackHeight,
            uint32(OUTPUT_BYTES)
        );
        taskId = market.post{value: msg.value}(
            programRoot,
            input,
            limits,
            window,
            solverBond,
            challengerBond,
            uint40(block.timestamp) + deadlineDelay
        );
        // pending: slot 0 = the reward (for a refund on expiry), slot 4 = parent | PENDING,
        // slot 5 = submitter | fee
        Tip storage t = tips[taskId];
        t.hash = bytes32(msg.value);
        t.parent = parent;
        t.state = PENDING;
        t.submitter = msg.sender;
        t.fee = fee;
        emit BatchSubmitted(taskId, parent, msg.sender, count, fee);
    }

    /// The market's callback: stores the tip of a valid batch, forgets any other.
    function onTaskResult(uint256 taskId, bytes calldata output, uint8 status, uint32) external {
        if (msg.sender != address(market)) revert NotMarket();
        Tip storage t = tips[taskId];
        if (t.state != PENDING) revert UnknownBatch(taskId);
        if (status != 1 || output.length != OUTPUT_BYTES || _le32(output, 0) != 1) {
            if (status == 0) balanceOf[t.submitter] += uint256(t.hash);
            bool full = output.length == OUTPUT_BYTES;
            emit BatchRejected(taskId, status, full ? _le32(output, 4) : 0, full ? _le32(output, 8) : type(uint32).max);
            delete tips[taskId];
            return;
        }
        _store(taskId, t.parent, output);
    }

    function _store(uint256 taskId, uint64 parent, bytes calldata output) private {
        uint32 depth = tips[parent].depth + 1;
        bytes32 hash = bytes32(output[20:52]);
        uint256 work = _reverse256(uint256(bytes32(output[108:140])));
        Tip storage t = tips[taskId];
        t.hash = hash;
        t.record = keccak256(output[16:140]);
        t.blockRoot = bytes32(output[140:172]);
        t.chainWork = work;
        // slot 4 in one write (parent, skip, height, count, depth, state); slot 5 stays as submitted
        uint256 packed = uint256(parent) |
            (uint256(_ancestor(parent, _skipDepth(depth))) << 64) |
            (uint256(_le32(output, 16)) << 128) |
            (uint256(_le32(output, 12)) << 160) |
            (uint256(depth) << 192) |
            (uint256(STORED) << 224);
        assembly ("memory-safe") {
            sstore(add(t.slot, 4), packed)
        }
        emit TipStored(taskId, parent, hash, _le32(output, 16), work, bytes32(output[140:172]), output[16:140]);
        if (work > tips[bestId].chainWork) {
            bestId = uint64(taskId);
            emit BestTipChanged(taskId, hash, _le32(output, 16), work);
        }
    }

    /// Pays the caller what it is owed: the fees of proofs against its batches and the rewards of
    /// its batches that expired without a solution (those come back from the market, which is
    /// drained into the relay first when it holds anything for it).
    function withdraw() external {
        uint256 amount = balanceOf[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        balanceOf[msg.sender] = 0;
        if (market.balanceOf(address(this)) != 0) market.withdraw();
        (bool ok, ) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
        emit Withdrawal(msg.sender, amount);
    }

    /// Refunds come back from the market's withdraw.
    receive() external payable {
        if (msg.sender != address(market)) revert NotMarket();
    }

    // --------------------------------------------------------------------------------------------
    // Queries

    function bestTip() external view returns (uint256 id, bytes32 hash, uint256 height, uint256 chainWork) {
        id = bestId;
        Tip storage t = tips[id];
        return (id, t.hash, t.height, t.chainWork);
    }

    function tipOf(uint256 id) external view returns (TipView memory v) {
        Tip storage t = tips[id];
        return TipView(t.hash, t.record, t.chainWork, t.parent, t.skip, t.height, t.count, t.depth, t.state, t.submitter, t.fee);
    }

    /// What a proof against stored batch `batchId` costs (msg.value of verifyTx, verifyBlock, relayTx).
    function feeOf(uint256 batchId) external view returns (uint256) {
        if (tips[batchId].state != STORED) revert UnknownBatch(batchId);
        return tips[batchId].fee;
    }

    /// True when stored tip `id` is the best tip or one of its ancestors.
    function isOnBestChain(uint256 id) public view returns (bool) {
        Tip storage t = tips[id];
        return t.state == STORED && _ancestor(bestId, t.depth) == id;
    }

    /// The ancestor of stored tip `id` at `depth` batches from the initial checkpoint
    /// (type(uint64).max when the tip is not that deep).
    function ancestorAt(uint256 id, uint256 depth) external view returns (uint256) {
        if (tips[id].state != STORED) revert UnknownTip(id);
        return _ancestor(uint64(id), depth);
    }

    /// Proves that transaction `txid` is in block `blockHash` (whose 80-byte header is given) and that
    /// the block is in relayed batch `batchId` with at least `confirmations` blocks on the best chain.
    /// txSiblings: the Merkle branch of the transaction at index txIndex in the block (Bitcoin's tree:
    /// SHA-256d of left ‖ right, the last node of an odd level paired with itself); blockIndex and
    /// blockSiblings: the same for the block hash in the batch's block root. The header's proof of
    /// work is not checked here: the batch's task did. msg.value must be the batch's fee. Returns the
    /// block height and its confirmations; reverts with the reason otherwise.
    ///
    /// A bare txid cannot tell a transaction from a 64-byte inner node of the tree (docs/RELAY.md):
    /// a contract that acts on a transaction's content should use relayTx, which takes the raw bytes.
    function verifyTx(
        bytes32 txid,
        bytes32 blockHash,
        uint256 txIndex,
        bytes32[] calldata txSiblings,
        bytes calldata header,
        uint256 batchId,
        uint256 blockIndex,
        bytes32[] calldata blockSiblings
    ) external payable returns (uint256 height, uint256 confs) {
        if (header.length != 80) revert BadHeader();
        if (_sha256d(header) != blockHash) revert BlockHashMismatch();
        _checkTxBranch(txid, txIndex, txSiblings, header);
        (height, confs) = _verifyBlock(blockHash, batchId, blockIndex, blockSiblings);
        _charge(batchId);
    }

    /// Proves raw transaction `rawTx` like verifyTx (its txid is SHA-256d of the bytes; 64 bytes, the
    /// size of an inner node of the transaction tree, are refused), then calls
    /// `target.processTransaction(rawTx, txid, height)`; a revert there reverts relayTx with the same
    /// data. msg.value must be the batch's fee. Returns the block height.
    function relayTx(bytes calldata rawTx, TxProof calldata proof, IBtcTxTarget target) external payable returns (uint256 height) {
        if (rawTx.length == 64) revert Tx64Bytes();
        bytes32 txid = BtcTx.txid(rawTx);
        bytes calldata header = proof.header;
        if (header.length != 80) revert BadHeader();
        _checkTxBranch(txid, proof.txIndex, proof.txSiblings, header);
        (height, ) = _verifyBlock(_sha256d(header), proof.batchId, proof.blockIndex, proof.blockSiblings);
        _charge(proof.batchId);
        target.processTransaction(rawTx, txid, height);
    }

    /// The block part of verifyTx: block hash `blockHash` is leaf `index` of batch `batchId`, on the
    /// best chain with at least `confirmations` confirmations. msg.value must be the batch's fee.
    /// Returns its height and confirmations.
    function verifyBlock(bytes32 blockHash, uint256 batchId, uint256 index, bytes32[] calldata siblings)
        external
        payable
        returns (uint256 height, uint256 confs)
    {
        (height, confs) = _verifyBlock(blockHash, batchId, index, siblings);
        _charge(batchId);
    }

    function _verifyBlock(bytes32 blockHash, uint256 batchId, uint256 index, bytes32[] calldata siblings)
        private
        view
        returns (uint256 height, uint256 confs)
    {
        Tip storage b = tips[batchId];
        uint256 count = b.count;
        if (b.state != STORED || count == 0) revert UnknownBatch(batchId);
        // the branch length is fixed by the batch size, so the index fixes the height
        if (index >= count || siblings.length != _depthOf(count)) revert BadBlockProof();
        if (_branchRoot(blockHash, index, siblings) != b.blockRoot) revert BadBlockProof();
        height = uint256(b.height) + 1 + index - count;
        uint64 best = bestId;
        if (_ancestor(best, b.depth) != batchId) revert NotOnBestChain(batchId);
        confs = uint256(tips[best].height) + 1 - height;
        if (confs < confirmations) revert InsufficientConfirmations(confs, confirmations);
    }

    /// The transaction branch: `txid` at `txIndex` leads to the header's merkle root.
    function _checkTxBranch(bytes32 txid, uint256 txIndex, bytes32[] calldata txSiblings, bytes calldata header) private view {
        // an index with bits above the branch length would name another leaf than the one proven
        if (txSiblings.length < 256 && txIndex >> txSiblings.length != 0) revert BadTxProof();
        if (_branchRoot(txid, txIndex, txSiblings) != bytes32(header[36:68])) revert BadTxProof();
    }

    /// Takes the batch's fee (msg.value must equal it) for its submitter.
    function _charge(uint256 batchId) private {
        Tip storage b = tips[batchId];
        uint256 fee = b.fee;
        if (msg.value != fee) revert WrongFee(fee);
        if (fee != 0) balanceOf[b.submitter] += fee;
    }

    // --------------------------------------------------------------------------------------------
    // Internals

    /// Bitcoin Core's GetSkipHeight (chain.cpp), over batch depths.
    function _skipDepth(uint256 d) internal pure returns (uint256) {
        if (d < 2) return 0;
        return (d & 1) != 0 ? _invertLowestOne(_invertLowestOne(d - 1)) + 1 : _invertLowestOne(d);
    }

    function _invertLowestOne(uint256 n) private pure returns (uint256) {
        unchecked {
            return n & (n - 1); // 0 for n = 0, as in Core's int arithmetic
        }
    }

    /// The ancestor of tip `id` at depth `target` (Core's CBlockIndex::GetAncestor); type(uint64).max
    /// when `target` is deeper than the tip. O(log depth) storage reads.
    function _ancestor(uint64 id, uint256 target) internal view returns (uint64) {
        Tip storage t = tips[id];
        uint256 d = t.depth;
        if (target > d) return type(uint64).max;
        while (d > target) {
            uint256 ds = _skipDepth(d);
            uint256 dsp = _skipDepth(d - 1);
            if (ds == target || (ds > target && !(dsp + 2 < ds && dsp >= target))) {
                id = t.skip;
                d = ds;
            } else {
                id = t.parent;
                d -= 1;
            }
            t = tips[id];
        }
        return id;
    }

    /// ceil(log2(n)) for n >= 1: the branch length of Bitcoin's Merkle tree of n leaves.
    function _depthOf(uint256 n) internal pure returns (uint256 d) {
        n -= 1;
        while (n != 0) {
            n >>= 1;
            d++;
        }
    }

    /// Root of a Merkle branch in Bitcoin's tree (SHA-256d of left ‖ right).
    function _branchRoot(bytes32 leaf, uint256 index, bytes32[] calldata siblings) internal view returns (bytes32 node) {
        node = leaf;
        for (uint256 i = 0; i < siblings.length; i++) {
            node = (index & 1) == 0 ? _sha256d64(node, siblings[i]) : _sha256d64(siblings[i], node);
            index >>= 1;
        }
    }

    function _sha256d64(bytes32 a, bytes32 b) private view returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, a)
            mstore(add(p, 32), b)
            if iszero(staticcall(gas(), 2, p, 64, p, 32)) {
                revert(0, 0)
            }
            if iszero(staticcall(gas(), 2, p, 32, p, 32)) {
                revert(0, 0)
            }
            h := mload(p)
        }
    }

    function _sha256d(bytes calldata data) private view returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, data.offset, data.length)
            if iszero(staticcall(gas(), 2, p, data.length, p, 32)) {
                revert(0, 0)
            }
            if iszero(staticcall(gas(), 2, p, 32, p, 32)) {
                revert(0, 0)
            }
            h := mload(p)
        }
    }

    /// The u32 little-endian at data[off..off+4).
    function _le32(bytes calldata data, uint256 off) private pure returns (uint32) {
        uint32 v = uint32(bytes4(data[off:off + 4]));
        return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
    }

    /// v as 4 little-endian bytes.
    function _le32b(uint32 v) private pure returns (bytes4) {
        return bytes4((v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24));
    }

    /// Byte order reversal of a 256-bit word (little-endian bytes <-> number).
    function _reverse256(uint256 v) private pure returns (uint256) {
        v = ((v >> 8) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff) |
            ((v & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff) << 8);
        v = ((v >> 16) & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff) |
            ((v & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff) << 16);
        v = ((v >> 32) & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff) |
            ((v & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff) << 32);
        v = ((v >> 64) & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff) |
            ((v & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff) << 64);
        return (v >> 128) | (v << 128);
    }
}
