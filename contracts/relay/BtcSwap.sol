// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BtcRelay} from "./BtcRelay.sol";
import {BtcTx} from "./BtcTx.sol";
import {IBtcTxTarget} from "./IBtcTxTarget.sol";

/// Sells ETH for bitcoin, through the relay (docs/RELAY.md, "A dapp: ETH for bitcoin").
///
/// 1. A seller offers `msg.value` wei for a payment of at least `minSatoshi` to the Bitcoin output
///    script `script` (e.g. P2PKH 76a914‹20 bytes›88ac, P2WPKH 0014‹20 bytes›), confirmed by at
///    least `confirmations` blocks on the relay's best chain. Each open offer has its own script
///    (a fresh address per sale), which is how a payment finds its offer. Only Bitcoin blocks above
///    the relay's best tip when the offer is made count (`minHeight`), so an old payment to a
///    reused address cannot buy it.
/// 2. A buyer reserves the offer, posting the seller's deposit, for `reservePeriod` seconds: the ETH
///    goes to whoever reserved it, so that nobody who sees the payment on Bitcoin can claim it first.
/// 3. The buyer pays on Bitcoin, waits for the confirmations and calls
///    `relay.relayTx(rawTx, proof, this)` with the fee of the batch; the relay proves the
///    transaction and calls `processTransaction`, which finds the output paying an open offer and
///    sends the buyer the offer's ETH and its deposit back. A transaction buys at most one offer,
///    once.
///
/// A reservation that lapses stays valid until someone else reserves the offer: then the lapsed
/// buyer's deposit goes to the seller (the price of blocking the offer). The seller may cancel an
/// offer that nobody holds a live reservation on.
contract BtcSwap is IBtcTxTarget {
    struct Offer {
        // slot 0
        address seller;
        uint64 minSatoshi;
        uint32 confirmations;
        // slot 1
        address buyer;
        uint40 reservedUntil;
        uint32 minHeight; // the lowest Bitcoin block height a payment may be in
        uint8 state;
        // slot 2
        uint96 amount; // wei sold
        uint96 deposit; // wei a buyer posts to reserve
        uint32 reservePeriod; // seconds
        // slot 3
        bytes32 scriptHash; // keccak256 of the output script
    }

    uint8 internal constant OPEN = 1;
    uint8 internal constant SOLD = 2;
    uint8 internal constant CANCELLED = 3;

    BtcRelay public immutable relay;
    uint256 public offerCount;
    mapping(uint256 => Offer) public offers;
    /// The open offer paid by an output script (keccak256 of the script), 0 when none.
    mapping(bytes32 => uint256) public openOfferOf;
    /// Transactions that bought an offer.
    mapping(bytes32 => bool) public used;
    /// ETH a transfer could not deliver (the receiver refused it), withdrawn with `withdraw`.
    mapping(address => uint256) public owed;

    event Offered(uint256 indexed id, address indexed seller, bytes script, uint256 amount, uint64 minSatoshi, uint32 confirmations, uint32 minHeight);
    event Reserved(uint256 indexed id, address indexed buyer, uint40 until);
    event Sold(uint256 indexed id, address indexed buyer, bytes32 txid, uint256 height, uint64 paid);
    event Cancelled(uint256 indexed id);

    error NotRelay();
    error BadOffer();
    error ScriptInUse(uint256 offerId);
    error NotOpen(uint256 offerId);
    error WrongDeposit(uint256 deposit);
    error AlreadyReserved(uint256 offerId, address buyer, uint40 until);
    error NotSeller();
    error TxAlreadyUsed(bytes32 txid);
    /// No output of the transaction pays the script of an open offer.
    error NoPaymentToOffer();
    error PaymentTooSmall(uint64 paid, uint64 minSatoshi);
    error PaymentBeforeOffer(uint256 height, uint256 minHeight);
    error InsufficientConfirmations(uint256 have, uint256 need);
    error NotReserved(uint256 offerId);
    error NothingToWithdraw();
    error TransferFailed();

    constructor(BtcRelay relay_) {
        relay = relay_;
    }

    /// Offers msg.value wei for a payment of at least `minSatoshi` to `script`, with `confirmations`
    /// (at least 1) on the relay's best chain. Returns the offer id.
    function offer(bytes calldata script, uint64 minSatoshi, uint32 confirmations, uint96 deposit, uint32 reservePeriod)
        external
        payable
        returns (uint256 id)
    {
        if (msg.value == 0 || msg.value > type(uint96).max || script.length == 0 || minSatoshi == 0 || confirmations == 0 || reservePeriod == 0) revert BadOffer();
        bytes32 h = keccak256(script);
        if (openOfferOf[h] != 0) revert ScriptInUse(openOfferOf[h]);
        (, , uint256 best, ) = relay.bestTip();
        id = ++offerCount;
        offers[id] = Offer(msg.sender, minSatoshi, confirmations, address(0), 0, uint32(best + 1), OPEN, uint96(msg.value), deposit, reservePeriod, h);
        openOfferOf[h] = id;
        emit Offered(id, msg.sender, script, msg.value, minSatoshi, confirmations, uint32(best + 1));
    }

    /// Reserves open offer `id` for the caller for its reserve period; msg.value is its deposit.
    /// A live reservation of someone else is refused; a lapsed one is replaced and its deposit goes
    /// to the seller.
    function reserve(uint256 id) external payable {
        Offer storage o = offers[id];
        if (o.state != OPEN) revert NotOpen(id);
        if (msg.value != o.deposit) revert WrongDeposit(o.deposit);
        address prev = o.buyer;
        if (prev != address(0)) {
            if (block.timestamp <= o.reservedUntil) revert AlreadyReserved(id, prev, o.reservedUntil);
            _pay(o.seller, o.deposit);
        }
        uint40 until = uint40(block.timestamp) + o.reservePeriod;
        o.buyer = msg.sender;
        o.reservedUntil = until;
        emit Reserved(id, msg.sender, until);
    }

    /// The seller takes back an offer that has no live reservation (a lapsed buyer's deposit is
    /// the seller's).
    function cancel(uint256 id) external {
        Offer storage o = offers[id];
        if (o.state != OPEN) revert NotOpen(id);
        if (msg.sender != o.seller) revert NotSeller();
        if (o.buyer != address(0) && block.timestamp <= o.reservedUntil) revert AlreadyReserved(id, o.buyer, o.reservedUntil);
        o.state = CANCELLED;
        delete openOfferOf[o.scriptHash];
        emit Cancelled(id);
        _pay(o.seller, uint256(o.amount) + (o.buyer != address(0) ? o.deposit : 0));
    }

    /// Called by the relay with a proven transaction: the first output that pays an open offer's
    /// script buys it, if it pays enough, late enough, with enough confirmations, for a reserved
    /// offer. Reverts with the reason otherwise.
    function processTransaction(bytes calldata rawTx, bytes32 txid, uint256 height) external {
        if (msg.sender != address(relay)) revert NotRelay();
        if (used[txid]) revert TxAlreadyUsed(txid);
        (uint256 p, uint256 n) = BtcTx.outputs(rawTx);
        uint256 id;
        uint64 paid;
        for (uint256 i = 0; i < n; i++) {
            uint64 value;
            bytes calldata script;
            (value, script, p) = BtcTx.outputAt(rawTx, p);
            id = openOfferOf[keccak256(script)];
            if (id != 0) {
                paid = value;
                break;
            }
        }
        if (id == 0) revert NoPaymentToOffer();
        Offer storage o = offers[id];
        if (paid < o.minSatoshi) revert PaymentTooSmall(paid, o.minSatoshi);
        if (height < o.minHeight) revert PaymentBeforeOffer(height, o.minHeight);
        (, , uint256 best, ) = relay.bestTip();
        uint256 confs = best + 1 - height;
        if (confs < o.confirmations) revert InsufficientConfirmations(confs, o.confirmations);
        address buyer = o.buyer;
        if (buyer == address(0)) revert NotReserved(id);
        used[txid] = true;
        o.state = SOLD;
        delete openOfferOf[o.scriptHash];
        emit Sold(id, buyer, txid, height, paid);
        _pay(buyer, uint256(o.amount) + o.deposit);
    }

    /// Pays the caller what a transfer could not deliver.
    function withdraw() external {
        uint256 amount = owed[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        owed[msg.sender] = 0;
        (bool ok, ) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    /// Sends `amount` to `to`; a receiver that refuses it (or runs out of the 50,000 gas given) is
    /// credited instead, so that nobody can block a sale, a reservation or a cancellation.
    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok, ) = to.call{value: amount, gas: 50_000}("");
        if (!ok) owed[to] += amount;
    }
}
