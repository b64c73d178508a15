/*
 * audit-rekey.h - vaultctl audit rekey: give a vault a new auditor key
 * pair, when the auditor key may be compromised or the auditor changes.
 *
 * The new secret key goes to a new file protected by the new auditor's
 * passphrase, the new public key into the key store
 * (keystore_set_auditor_pk(), which needs the vault passphrase).  The
 * change is recorded twice in the access log: before it, in a segment
 * sealed to the old key (so the old auditor sees that, when, by whom and
 * to which key the log moved), and after it, in a segment sealed to the
 * new key (so the new auditor sees where their part of the log starts).
 * Segments written later are sealed to the new key; old ones stay sealed
 * to the old key ('vaultctl audit verify' takes both keys).
 */
#ifndef VAULTFS_AUDIT_REKEY_H
#define VAULTFS_AUDIT_REKEY_H

/*
 * argv[0] is "rekey", options and VAULT follow.  Returns the exit status:
 * 0 changed and recorded, 1 failed (the message says whether the key was
 * changed), 2 usage error, 3 wrong vault passphrase.
 */
int audit_rekey_cmd(int argc, char **argv);

#endif
