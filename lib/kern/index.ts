// The kernel face, in one import: everything a port of in-kernel socket code
// calls, with the man pages' names and argument orders.
export {
  socreate, sobind, soconnect, soconnect2, solisten, soaccept, sosend, soreceive, soshutdown, soclose,
  soupcall_set, soupcall_clear, sosetnbio, CONTROL_SPACE_DEFAULT, MP0_DEFAULT, type ControlHolder, type Mp0Holder,
} from './socket';
export {
  Sockopt, sockopt_init, sockopt_destroy, sockopt_get, sockopt_getint, sockopt_set, sockopt_setint,
  sosetopt, sogetopt, timeval, readTimeval,
} from './sockopt';
export { tsleep, wakeup, wakeup_one, Channel } from '../core/sleep';
export { Socket, Sockbuf, soisconnected, soisconnecting, soisdisconnected, socantrcvmore, socantsendmore, type Upcall, type Cred } from '../core/socket';
export { Uio } from '../core/uio';
