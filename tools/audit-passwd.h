/*
 * audit-passwd.h - vaultctl audit passwd: change the passphrase that
 * protects the auditor's secret key file.  Offline: no vault is needed
 * (the auditor keeps the file off the server).  The file is replaced
 * atomically (auditkey_change_passphrase(), keys/auditkey.h).
 */
#ifndef VAULTFS_AUDIT_PASSWD_H
#define VAULTFS_AUDIT_PASSWD_H

/*
 * argv[0] is "passwd", options follow.  Returns the exit status: 0
 * changed, 1 failed (the file is unchanged), 2 usage error, 3 wrong
 * passphrase.
 */
int audit_passwd_cmd(int argc, char **argv);

#endif
