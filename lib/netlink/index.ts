// Netlink without hand-packed bytes: the codec, sessions, rtnetlink and generic netlink.
export {
  AttrTable, Struct, decodeAttrs, encodeAttrs, encodeMessage, parseMessages, decodeError, decodeDone,
  formatIp, parseIp, formatMac, parseMac, align4,
  type AttrKind, type AttrValue, type Attrs, type AttrSpec, type AttrDecl, type NlMsg, type NlError, type FieldKind,
} from './codec';
export { Netlink, NetlinkError, messageTypeName, type NetlinkOptions, type RequestOptions } from './socket';
export {
  GenericNetlink, resolveFamily, listFamilies, decodeGenl, genlmsghdr, GENL_HDRLEN, ctrlAttrs, ctrlOpAttrs, ctrlMcastGrpAttrs,
  type GenlFamily, type GenlMessage, type GenlMsgHdr, type GenlRequestOptions, type GenericNetlinkOptions,
} from './generic';
export {
  RouteNetlink, ifinfomsg, ifaddrmsg, rtmsg, ndmsg, linkAttrs, addrAttrs, routeAttrs, neighAttrs, netnsPath,
  decodeLink, decodeAddress, decodeRoute, decodeNeighbour,
  type Link, type Address, type Route, type Neighbour, type RouteEvent, type LinkSpec, type LinkChange, type RouteSpec,
  type ListFilter, type Dev, type NetnsTarget,
} from './route';
