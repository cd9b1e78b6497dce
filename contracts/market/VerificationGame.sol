// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IStepProver} from "../prover/IStepProver.sol";
import {Refund} from "./Refund.sol";

/// The owner of games (the task market) learns each game's result through this call. `measured`:
/// when the challenger made the move that ended the game, the gas it has used so far in this
/// transaction with bit 255 set (the owner adds its own part and the refund); otherwise 0.
interface IGameOwner {
    function onGameResolved(uint256 gameId, address challenger, bool solverWon, uint256 measured) external;
}

/// The verification game between one solver and one challenger (docs/GAME.md).
///
/// The disputed segment is [lo, hi]: both agree on the state root at step lo, the solver claims
/// the root at step hi, the challenger disputes it. While hi − lo > 1 the solver posts the roots at
/// the d − 1 evenly spaced inner points (d = min(k, hi − lo), point j = lo + (hi − lo)·j/d, rounded
/// down) and the challenger names the first of the d sub-segments it disputes. At length one the
/// one-step prover decides: step(rootLo, witness) == rootHi means the solver wins, anything else
/// that the prover accepts means the challenger wins. Terminal states (halted, trapped) are fixed
/// points of a step, so the claimed final step count needs no special case: a claim that halts too
/// early or too late differs from the true state at its own step count, and the dissection finds the
/// first step where it does.
///
/// Only a hash of the current position is stored (`h`): keccak(rootLo ‖ rootHi) when the solver is
/// to move, keccak(keccak(rootLo ‖ rootHi) ‖ roots) after it posted `roots`. Moves re-supply the
/// roots in calldata.
///
/// Clocks: each party has `clock` seconds for the whole game. The party to move (the solver in the
/// Bisect and Step phases, the challenger in the Select phase) has its clock running since
/// `lastMove`; a move is accepted only while that clock has time left, and once it has run out
/// anyone may call `timeout`, which makes that party lose.
///
/// Refunds (docs/GAME.md, "Money"): every game belongs to a group (the owner's: one solution of a
/// task) and records what its challenger has spent on it (`spent`, wei: its challenge, selections,
/// one-step proof or timeout call, measured with Refund). The group keeps the sum over its games that
/// the challenger has not lost. When the owner closes a group (the solution was defeated) the sum is
/// frozen: no game of the group may be moved or resolved any more, only aborted by the owner.
contract VerificationGame {
    enum Phase {
        None,
        Bisect, // solver to post the inner roots
        Select, // challenger to name a sub-segment
        Step, // segment of length one: the solver must prove the step (either party may)
        SolverWon,
        ChallengerWon,
        Aborted // the owner called the game off (the claim was already defeated in another game)
    }

    struct Game {
        // slot 0
        address solver;
        uint40 lastMove;
        Phase phase;
        uint24 clockSolver; // seconds left
        uint24 clockChallenger;
        // slot 1
        address challenger;
        uint48 lo;
        uint48 hi;
        // slot 2
        bytes32 h;
        // slot 3
        uint128 spent; // wei the challenger has spent on this game (refundable)
        uint96 group;
    }

    IStepProver public immutable prover;
    /// Degree of the dissection: the solver posts up to k − 1 roots per round.
    uint256 public immutable k;
    /// Time budget of each party for a whole game, in seconds.
    uint256 public immutable clock;
    /// The only account that may open and abort games, and that is told their results.
    address public immutable owner;
    /// Highest tip per gas refunded above the base fee (Refund.price).
    uint256 public immutable tipCap;

    uint256 public gameCount;
    mapping(uint256 => Game) internal games;
    /// by group: bit 255 closed, bits 0..254 the sum of `spent` over its games not lost by their
    /// challenger
    mapping(uint256 => uint256) internal groups;

    uint256 private constant CLOSED = 1 << 255;
    // Gas used outside the measured part of a challenger's move (calibrated by
    // test/contracts/incentives.test.ts, which checks refunds against receipts): before `begin` (the
    // dispatcher, argument decoding) and after `used` (the final writes, the event, the return).
    uint256 private constant SELECT_HEAD = 270;
    uint256 private constant SELECT_TAIL = 1_695;
    uint256 private constant PROVE_HEAD = 446;
    uint256 private constant TIMEOUT_HEAD = 250;
    uint256 private constant CALL_OWNER = 2_700;

    event GameOpened(uint256 indexed gameId, address indexed solver, address indexed challenger, bytes32 rootLo, bytes32 rootHi, uint256 steps);
    event Bisected(uint256 indexed gameId, uint256 lo, uint256 hi, bytes32[] roots);
    event Selected(uint256 indexed gameId, uint256 index, uint256 lo, uint256 hi);
    event GameResolved(uint256 indexed gameId, bool solverWon, bool timeout);
    event GameAborted(uint256 indexed gameId);

    error NotOwner();
    error NotSolver();
    error NotChallenger();
    error NotPlayer();
    error WrongPhase(Phase phase);
    error ClockExpired();
    error NotTimedOut(uint256 deadline);
    error WrongRootCount(uint256 expected, uint256 got);
    error BadIndex(uint256 index, uint256 parts);
    error PositionMismatch();
    error BadSegment();
    error BadParameters();
    error GroupClosed(uint256 group);

    constructor(IStepProver prover_, uint256 k_, uint256 clock_, uint256 tipCap_) {
        if (k_ < 2 || k_ > 256 || clock_ == 0 || clock_ >= 1 << 24 || address(prover_) == address(0)) revert BadParameters();
        prover = prover_;
        k = k_;
        clock = clock_;
        owner = msg.sender;
        tipCap = tipCap_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    // --------------------------------------------------------------------------------------------
    // Owner

    /// Opens a game on the segment [0, steps] in `group`: rootLo is the agreed initial state root,
    /// rootHi the solver's claimed root at `steps`. Its `spent` starts at 1 (and the group's sum
    /// grows by 1) until the owner credits the challenge's cost (`credit`): the slots are written at
    /// their final cost here, so the owner's measurement of the challenge does not depend on them.
    function open(address solver, address challenger, bytes32 rootLo, bytes32 rootHi, uint256 steps, uint96 group) external onlyOwner returns (uint256 id) {
        if (steps == 0 || steps >= 1 << 48) revert BadSegment();
        uint256 sum = groups[group];
        if (sum & CLOSED != 0) revert GroupClosed(group);
        groups[group] = sum + 1;
        id = ++gameCount;
        Game storage g = games[id];
        g.spent = 1;
        g.group = group;
        g.solver = solver;
        g.lastMove = uint40(block.timestamp);
        g.phase = steps == 1 ? Phase.Step : Phase.Bisect;
        g.clockSolver = uint24(clock);
        g.clockChallenger = uint24(clock);
        g.challenger = challenger;
        g.hi = uint48(steps);
        g.h = keccak256(abi.encodePacked(rootLo, rootHi));
        emit GameOpened(id, solver, challenger, rootLo, rootHi, steps);
    }

    /// Sets the cost of the challenge that opened game `id` (replacing the 1 written by `open`).
    function credit(uint256 id, uint256 amount) external onlyOwner {
        Game storage g = games[id];
        uint96 group = g.group;
        groups[group] = groups[group] + amount - 1;
        g.spent = uint128(amount);
    }

    /// Closes a group (its solution was defeated): its sum is frozen and returned, with what the
    /// challenger of game `id` spent.
    function closeGroup(uint96 group, uint256 id) external onlyOwner returns (uint256 sum, uint256 spentOfGame) {
        sum = groups[group];
        groups[group] = sum | CLOSED;
        spentOfGame = games[id].spent;
    }

    /// Calls a running game off (no result is reported); returns its challenger and what it spent.
    function abort(uint256 id) external onlyOwner returns (address challenger, uint256 spent) {
        Game storage g = games[id];
        if (!_active(g.phase)) revert WrongPhase(g.phase);
        g.phase = Phase.Aborted;
        emit GameAborted(id);
        return (g.challenger, g.spent);
    }

    // --------------------------------------------------------------------------------------------
    // Moves

    /// Solver: posts the roots at the inner points of the current segment.
    function bisect(uint256 id, bytes32[] calldata roots) external {
        Game storage g = games[id];
        Phase phase = g.phase;
        if (phase != Phase.Bisect) revert WrongPhase(phase);
        if (msg.sender != g.solver) revert NotSolver();
        uint256 left = _clockLeft(g.lastMove, g.clockSolver);
        uint256 lo = g.lo;
        uint256 hi = g.hi;
        uint256 d = _parts(hi - lo);
        if (roots.length != d - 1) revert WrongRootCount(d - 1, roots.length);
        g.lastMove = uint40(block.timestamp);
        g.clockSolver = uint24(left);
        g.phase = Phase.Select;
        g.h = _commitRoots(g.h, roots);
        emit Bisected(id, lo, hi, roots);
    }

    /// Challenger: names the first sub-segment it disputes, re-supplying the segment's end roots and
    /// the solver's inner roots. Sub-segment `index` runs from point index to point index + 1.
    function select(uint256 id, bytes32 rootLo, bytes32 rootHi, bytes32[] calldata roots, uint256 index) external {
        uint256 m = Refund.begin(SELECT_HEAD);
        Game storage g = games[id];
        _select(id, g, rootLo, rootHi, roots, index);
        _charge(g, m, SELECT_TAIL);
    }

    function _select(uint256 id, Game storage g, bytes32 rootLo, bytes32 rootHi, bytes32[] calldata roots, uint256 index) private {
        Phase phase = g.phase;
        if (phase != Phase.Select) revert WrongPhase(phase);
        if (msg.sender != g.challenger) revert NotChallenger();
        uint256 left = _clockLeft(g.lastMove, g.clockChallenger);
        if (_commitRoots(keccak256(abi.encodePacked(rootLo, rootHi)), roots) != g.h) revert PositionMismatch();
        uint256 lo = g.lo;
        uint256 len = g.hi - lo;
        uint256 d = roots.length + 1;
        if (index >= d) revert BadIndex(index, d);
        uint256 newLo = lo + (len * index) / d;
        uint256 newHi = lo + (len * (index + 1)) / d;
        g.lastMove = uint40(block.timestamp);
        g.clockChallenger = uint24(left);
        g.phase = newHi - newLo == 1 ? Phase.Step : Phase.Bisect;
        g.lo = uint48(newLo);
        g.hi = uint48(newHi);
        g.h = keccak256(abi.encodePacked(index == 0 ? rootLo : roots[index - 1], index == d - 1 ? rootHi : roots[index]));
        emit Selected(id, index, newLo, newHi);
    }

    /// Either party, on a segment of length one: runs the one-step prover from rootLo. The solver wins
    /// when the post-state root is its rootHi; otherwise the challenger wins. A witness that does not
    /// open rootLo makes the prover revert, and so this call.
    function proveStep(uint256 id, bytes32 rootLo, bytes32 rootHi, bytes calldata witness) external {
        uint256 m = Refund.begin(PROVE_HEAD);
        Game storage g = games[id];
        Phase phase = g.phase;
        if (phase != Phase.Step) revert WrongPhase(phase);
        if (msg.sender != g.challenger) {
            if (msg.sender != g.solver) revert NotPlayer();
            m = 0;
        }
        _clockLeft(g.lastMove, g.clockSolver);
        if (keccak256(abi.encodePacked(rootLo, rootHi)) != g.h) revert PositionMismatch();
        bytes32 post = prover.step(rootLo, witness);
        _resolve(id, g, post == rootHi, false, m);
    }

    /// Anyone: ends a game whose party to move has let its clock run out; that party loses.
    function timeout(uint256 id) external {
        uint256 m = Refund.begin(TIMEOUT_HEAD);
        Game storage g = games[id];
        if (msg.sender != g.challenger) m = 0;
        Phase phase = g.phase;
        if (!_active(phase)) revert WrongPhase(phase);
        bool challengerToMove = phase == Phase.Select;
        uint256 deadline = uint256(g.lastMove) + (challengerToMove ? g.clockChallenger : g.clockSolver);
        if (block.timestamp <= deadline) revert NotTimedOut(deadline);
        _resolve(id, g, challengerToMove, true, m);
    }

    // --------------------------------------------------------------------------------------------
    // Views

    struct GameView {
        address solver;
        address challenger;
        Phase phase;
        uint256 lo;
        uint256 hi;
        uint256 lastMove;
        uint256 clockSolver;
        uint256 clockChallenger;
        bytes32 h;
        /// the party whose clock runs (zero when the game is over)
        address toMove;
        /// when the party to move times out (zero when the game is over)
        uint256 deadline;
    }

    function gameOf(uint256 id) external view returns (GameView memory v) {
        Game storage g = games[id];
        v.solver = g.solver;
        v.challenger = g.challenger;
        v.phase = g.phase;
        v.lo = g.lo;
        v.hi = g.hi;
        v.lastMove = g.lastMove;
        v.clockSolver = g.clockSolver;
        v.clockChallenger = g.clockChallenger;
        v.h = g.h;
        if (_active(g.phase)) {
            bool c = g.phase == Phase.Select;
            v.toMove = c ? g.challenger : g.solver;
            v.deadline = uint256(g.lastMove) + (c ? g.clockChallenger : g.clockSolver);
        }
    }

    function challengerOf(uint256 id) external view returns (address) {
        return games[id].challenger;
    }

    /// What the challenger of game `id` has spent on it (wei, refundable) and the game's group.
    function spentOf(uint256 id) external view returns (uint256 spent, uint256 group) {
        return (games[id].spent, games[id].group);
    }

    /// A group's sum of `spent` over the games its challengers have not lost, and whether it is closed.
    function groupOf(uint256 group) external view returns (uint256 sum, bool closed) {
        uint256 v = groups[group];
        return (v & ~CLOSED, v & CLOSED != 0);
    }

    /// The step numbers of the inner points the solver must post for the segment [lo, hi].
    function points(uint256 lo, uint256 hi) external view returns (uint256[] memory p) {
        if (hi <= lo + 1) return p;
        uint256 len = hi - lo;
        uint256 d = _parts(len);
        p = new uint256[](d - 1);
        for (uint256 j = 1; j < d; j++) p[j - 1] = lo + (len * j) / d;
    }

    // --------------------------------------------------------------------------------------------
    // Internals

    function _active(Phase p) private pure returns (bool) {
        return p == Phase.Bisect || p == Phase.Select || p == Phase.Step;
    }

    function _parts(uint256 len) private view returns (uint256) {
        return len < k ? len : k;
    }

    /// Seconds left on a clock after the time since the last move; reverts once it has run out.
    function _clockLeft(uint256 lastMove, uint256 left) private view returns (uint256) {
        uint256 spent = block.timestamp - lastMove;
        if (spent > left) revert ClockExpired();
        return left - spent;
    }

    function _commitRoots(bytes32 h, bytes32[] calldata roots) private pure returns (bytes32 out) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, h)
            let n := shl(5, roots.length)
            calldatacopy(add(p, 32), roots.offset, n)
            out := keccak256(p, add(n, 32))
        }
    }

    /// Adds the cost of the challenger's move measured from `m` to its game and group (written once
    /// with a provisional value so that the measured part pays the writes at their first-write cost).
    function _charge(Game storage g, uint256 m, uint256 tail) private {
        uint96 group = g.group;
        uint256 sum = groups[group];
        if (sum & CLOSED != 0) revert GroupClosed(group);
        uint256 spent = g.spent;
        groups[group] = sum + 1;
        g.spent = uint128(spent + 1);
        uint256 cost = Refund.used(m, tail) * Refund.price(tipCap);
        groups[group] = sum + cost;
        g.spent = uint128(spent + cost);
    }

    /// Ends a game and tells the owner. A game whose challenger lost leaves its group's sum; the
    /// challenger's measured part so far (`m` != 0: it made this move) goes to the owner.
    function _resolve(uint256 id, Game storage g, bool solverWon, bool byTimeout, uint256 m) private {
        uint96 group = g.group;
        uint256 sum = groups[group];
        if (sum & CLOSED != 0) revert GroupClosed(group);
        if (solverWon) groups[group] = sum - g.spent;
        g.phase = solverWon ? Phase.SolverWon : Phase.ChallengerWon;
        emit GameResolved(id, solverWon, byTimeout);
        if (m != 0) {
            uint256 i = Refund.intrinsic();
            m = (1 << 255) | (i << 64) | (m + CALL_OWNER - gasleft());
        }
        IGameOwner(owner).onGameResolved(id, g.challenger, solverWon, m);
    }
}
