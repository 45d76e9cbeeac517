-- HAProxy Lua service for `make cluster`: GET/PUT /api/chaos through the
-- balancer. Each pos-server instance keeps its chaos settings in memory, so
-- a PUT sent round robin would change one instance; this service sends it to
-- every instance (POS_CHAOS_INSTANCES, set by haproxy-config.sh) with the
-- caller's Authorization and body, and answers with the first instance's
-- answer when all answered the same status (502 naming them otherwise). A GET
-- is asked of the first instance that answers. The demo page's chaos sliders
-- and demo-check.mjs use it.

local function instances()
  local list = {}
  for url in string.gmatch(os.getenv("POS_CHAOS_INSTANCES") or "", "%S+") do
    table.insert(list, url)
  end
  return list
end

local function header(applet, name)
  local values = applet.headers[name]
  if values then return values[0] end
  return nil
end

local function reply(applet, status, ctype, body)
  applet:set_status(status)
  if ctype then applet:add_header("content-type", ctype) end
  applet:add_header("content-length", tostring(#body))
  applet:add_header("cache-control", "no-cache")
  applet:start_response()
  applet:send(body)
end

core.register_service("pos_chaos_fanout", "http", function(applet)
  local headers = { ["Host"] = { "127.0.0.1" } }
  local auth = header(applet, "authorization")
  if auth then headers["Authorization"] = { auth } end
  local ctype = header(applet, "content-type")
  if ctype then headers["Content-Type"] = { ctype } end
  local method = applet.method
  if method ~= "GET" and method ~= "PUT" then
    reply(applet, 405, "application/problem+json",
      '{"type":"about:blank","title":"Method not allowed","status":405}')
    return
  end
  local body = nil
  if method == "PUT" then body = applet:receive() or "" end

  local answers = {}
  for _, url in ipairs(instances()) do
    local hc = core.httpclient()
    local res
    if method == "PUT" then
      res = hc:put{ url = url .. "/api/chaos", headers = headers, body = body }
    else
      res = hc:get{ url = url .. "/api/chaos", headers = headers }
    end
    local status = (res and res.status) or 0
    table.insert(answers, { url = url, status = status, res = res })
    if method == "GET" and status ~= 0 then break end
  end

  local first = answers[1]
  local same = first ~= nil and first.status ~= 0
  for _, a in ipairs(answers) do
    if a.status ~= (first and first.status) then same = false end
  end
  if not same then
    local parts = {}
    for _, a in ipairs(answers) do table.insert(parts, a.url .. " " .. tostring(a.status)) end
    reply(applet, 502, "application/problem+json", string.format(
      '{"type":"about:blank","title":"Chaos settings not applied on every instance","status":502,"detail":"%s"}',
      table.concat(parts, ", ")))
    return
  end
  local res = first.res
  local rtype = nil
  if res.headers and res.headers["content-type"] then rtype = res.headers["content-type"][0] end
  reply(applet, first.status, rtype, res.body or "")
end)
