/** Where the service answers MCP (POST only). Its own file: the stdio bridge needs it without the service's code. */
export const MCP_PATH = '/mcp';
