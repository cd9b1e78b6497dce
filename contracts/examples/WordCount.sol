// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ITaskMarket} from "../market/ITaskMarket.sol";
import {TaskState} from "../state/TaskState.sol";
import {TaskClient} from "./TaskClient.sol";

/// The example of docs/DAPPS.md: counts the bytes, words and lines of a text with the wordcount
/// task (examples/wordcount, AssemblyScript), paid for by whoever asks. A text up to ~400 KB goes in
/// one transaction (`count`); a larger one is uploaded in chunks (`upload`, then `countUpload`).
contract WordCount is TaskClient {
    struct Count {
        address requester;
        uint96 reward; // until refunded, if the task expired
        uint8 status; // 0 pending (or expired), 1 counted, 2 the task trapped
        uint32 code; // exit code, or trap code
        uint64 bytes_;
        uint64 words;
        uint64 lines;
    }

    bytes32 public immutable program; // program root of wordcount.wasm
    uint24 public immutable window; // challenge window of every task (seconds)
    uint88 public immutable bond; // solver and challenger bond of every task (wei)

    mapping(uint256 => Count) public counts; // by task id
    mapping(address => uint256) public uploadOf; // a requester's upload in progress

    event Counted(uint256 indexed taskId, uint256 bytes_, uint256 words, uint256 lines);
    event Failed(uint256 indexed taskId, uint8 status, uint32 code);

    error NothingToRefund(uint256 taskId);
    error RefundFailed();

    constructor(ITaskMarket market_, bytes32 program_, uint24 window_, uint88 bond_) TaskClient(market_) {
        program = program_;
        window = window_;
        bond = bond_;
    }

    /// Limits for a text of `length` bytes, from `truewasm run` on texts of several lengths: at most
    /// 49 steps a byte plus 1,500, with a 25 % margin; two memory pages whatever the length (the
    /// program reads its input in 64 KiB blocks); 96 bytes of output. Call depth and stack height:
    /// the defaults (only numbers in the state; a larger limit costs nothing).
    function limitsFor(uint256 length) public pure returns (TaskState.Limits memory) {
        return TaskState.Limits({steps: uint64(((length * 49 + 1_500) * 5) / 4), memoryPages: 2, callDepth: 1024, stackHeight: 65536, outputBytes: 96});
    }

    function _terms() private view returns (ITaskMarket.Terms memory) {
        return ITaskMarket.Terms({window: window, solverBond: bond, challengerBond: bond, deadline: uint40(block.timestamp + 1 days)});
    }

    /// Counts `text`; msg.value is the solver's reward. Returns the task id.
    function count(bytes calldata text) external payable returns (uint256 taskId) {
        taskId = _post(program, text, limitsFor(text.length), _terms(), msg.value);
        counts[taskId] = _pending(msg.value);
    }

    /// Uploads the next chunk of a large text (a multiple of 32 bytes, except the last).
    function upload(bytes calldata chunk) external {
        uploadOf[msg.sender] = _appendInput(uploadOf[msg.sender], chunk);
    }

    /// Counts the text uploaded so far; msg.value is the solver's reward.
    function countUpload() external payable returns (uint256 taskId) {
        uint256 inputId = uploadOf[msg.sender];
        delete uploadOf[msg.sender];
        (, uint256 length, , ) = market.inputs().inputOf(inputId);
        taskId = _postInput(inputId, program, limitsFor(length), _terms(), msg.value);
        counts[taskId] = _pending(msg.value);
    }

    function _pending(uint256 reward) private view returns (Count memory c) {
        c.requester = msg.sender;
        c.reward = uint96(reward);
    }

    function _onTaskResult(uint256 taskId, bytes calldata output, uint8 status, uint32 code) internal override {
        Count storage c = counts[taskId];
        c.status = status;
        c.code = code;
        if (status == 1) {
            (uint256 b, uint256 w, uint256 l) = abi.decode(output, (uint256, uint256, uint256));
            (c.bytes_, c.words, c.lines) = (uint64(b), uint64(w), uint64(l));
            emit Counted(taskId, b, w, l);
        } else emit Failed(taskId, status, code);
    }

    /// Anyone, once the market has expired a task (no solution by its deadline): its reward back to
    /// whoever paid it.
    function refund(uint256 taskId) external {
        Count storage c = counts[taskId];
        (ITaskMarket.Stage stage, , , ) = market.resultOf(taskId);
        if (stage != ITaskMarket.Stage.Expired || c.reward == 0) revert NothingToRefund(taskId);
        uint256 amount = c.reward;
        c.reward = 0;
        _withdrawRefunds();
        (bool ok, ) = c.requester.call{value: amount}("");
        if (!ok) revert RefundFailed();
    }
}
