package render

// For the coordinator tests of profile ocp-4.16 (package render_test).
var (
	RenderInventory  = renderInventory
	LoadInventory416 = loadInventory416
)
