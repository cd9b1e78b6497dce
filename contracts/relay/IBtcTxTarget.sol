// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// Implemented by a contract that acts on Bitcoin transactions relayed to it by BtcRelay.relayTx
/// (docs/RELAY.md, "relayTx"). The relay calls it only after proving that `rawTx` hashes to `txid`,
/// is not 64 bytes long, and is in block `height` on the relay's best chain with at least the
/// relay's confirmations. The implementation must check that msg.sender is the relay it trusts
/// (anybody can call it directly with made-up arguments), and that a transaction is not used twice
/// if that matters (relayTx can be called again with the same transaction). A revert makes relayTx
/// revert with the same data.
interface IBtcTxTarget {
    function processTransaction(bytes calldata rawTx, bytes32 txid, uint256 height) external;
}
