package render

// For the coordinator tests of profile ocp-4.16 (package render_test), which run a kit
// of the profile before it is offered.
var (
	RenderUnoffered  = renderUnoffered
	LoadInventory416 = loadInventory416
)
