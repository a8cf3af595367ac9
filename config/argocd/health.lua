-- Argo CD health for tfmirror.dev ProviderSet, ProviderMirror and ModuleSet (one script for every kind:
-- they share one status shape).
-- Healthy: Ready is True for the current generation. Degraded: Ready is False and the
-- controller is not still working on it. Anything else, including a status written for
-- an older generation, is Progressing. Plain Lua 5.1 (Argo CD runs gopher-lua).
local hs = {}

local function findCondition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function messageOf(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

local status = obj.status
if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to report status"
  return hs
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. tostring(generation)
  return hs
end

local ready = findCondition(status.conditions, "Ready")
local progressing = findCondition(status.conditions, "Progressing")

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = messageOf(ready, "Everything is mirrored")
  return hs
end

if ready ~= nil and ready.status == "False" and (progressing == nil or progressing.status ~= "True") then
  hs.status = "Degraded"
  hs.message = messageOf(ready, "Not ready")
  return hs
end

hs.status = "Progressing"
hs.message = messageOf(progressing, messageOf(ready, "Waiting for the content to be mirrored"))
return hs
