// The server's version, as reported to MCP clients and by --version.
export const SERVER_VERSION = '0.1.0';
